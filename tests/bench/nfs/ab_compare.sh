#!/bin/bash
# A/B of pnfsgw builds with the same load generators: each binary serves
# its own temporary data directory on its own loopback port; every point
# runs on each binary in turn, R rounds; ab_report.py prints the medians.
#   R=3 D=1.5 FS=256M tests/bench/nfs/ab_compare.sh OUT.txt \
#     "before=/path/to/old/pnfsgw" "after=build-bench/pnfsgw:--backend hostdir"
#   (also WORKLOADS="...", CLIENTS="1 4 16")
#   python3 tests/bench/nfs/ab_report.py OUT.txt
# Used for docs/bench/before-after.md. Servers are stopped by PID.
set -u
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
B="${PNFSGW_BENCH_BUILD:-$ROOT/build-bench}/tests/bench/nfs"
OUT=$1; shift
R=${R:-3} D=${D:-1.5} FS=${FS:-256M} PORT=${PORT:-20700}
WORKLOADS=${WORKLOADS:-"getattr lookup create seqwrite seqread randread randwrite"}
TMP="$(mktemp -d /var/tmp/pnfsgw-ab.XXXXXX)"
NAMES=() PORTS=() PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for spec in "$@"; do
  name=${spec%%=*} rest=${spec#*=}
  bin=${rest%%:*} args=""
  [[ "$rest" == *:* ]] && args=${rest#*:}
  # shellcheck disable=SC2086
  "$bin" serve --data "$TMP/$name" --listen "127.0.0.1:$PORT" --grace 0 $args >"$TMP/$name.log" 2>&1 &
  PIDS+=($!) NAMES+=("$name") PORTS+=("$PORT")
  PORT=$((PORT + 1))
done
sleep 2
: >"$OUT"
for proto in nfs4 nfs3; do
  for w in $WORKLOADS; do
    for c in ${CLIENTS:-1 4 16}; do
      for r in $(seq "$R"); do
        for i in "${!NAMES[@]}"; do
          "$B/${proto}_bench" --port "${PORTS[$i]}" --workload "$w" --clients "$c" --duration "$D" \
            --file-size "$FS" --dir-entries 2000 --quiet 2>/dev/null |
            sed "s/^RESULT /RESULT server=${NAMES[$i]} round=$r /" >>"$OUT"
        done
      done
    done
  done
done
