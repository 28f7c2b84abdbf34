#!/usr/bin/env python3
"""Medians per (proto, workload, clients, server) of an ab_compare.sh run, as
a markdown table with ratios to the first server. usage: ab_report.py OUT.txt"""
import sys, statistics, collections
d = collections.defaultdict(list)
names = []
for line in open(sys.argv[1]):
    kv = dict(f.split('=',1) for f in line.split()[1:] if '=' in f)
    w = kv['workload']
    v = float(kv['mb_s'] if w.startswith('seq') else kv['ops_s'])
    d[(kv['proto'], w, int(kv['clients']), kv['server'])].append(v)
    if kv['server'] not in names: names.append(kv['server'])
keys = sorted({k[:3] for k in d}, key=lambda k: (k[0] != 'nfs4', k[1], k[2]))
print('| proto | workload | clients | ' + ' | '.join(names) + ' | ' + ' | '.join(f'{n}/{names[0]}' for n in names[1:]) + ' |')
print('|---' * (3 + 2*len(names) - 1) + '|')
for k in keys:
    med = [statistics.median(d[k + (n,)]) if d.get(k + (n,)) else 0 for n in names]
    unit = ' MB/s' if k[1].startswith('seq') else ''
    print(f'| {k[0]} | {k[1]} | {k[2]} | ' + ' | '.join(f'{m:,.0f}{unit}' for m in med) + ' | ' + ' | '.join(f'{m/med[0]:.2f}' if med[0] else '-' for m in med[1:]) + ' |')
