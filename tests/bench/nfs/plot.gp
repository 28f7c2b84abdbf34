# Bar chart of pnfsgw / ganesha per workload and client count (NFSv4.1 and
# NFSv3), with the 1.5x target and parity lines. Called by scripts/bench:
#   gnuplot -e "datafile='plot.dat'; outfile='latest.png'" plot.gp
set terminal pngcairo size 1400,600 noenhanced font ",10"
set output outfile
set title "pnfsgw / nfs-ganesha (higher is better; target 1.5)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -45 scale 0
set ylabel "ratio"
set yrange [0:*]
set grid ytics
set key outside right top
plot datafile using 2:xtic(1) title "NFSv4.1 (own client)", \
     '' using 3 title "NFSv3 (libnfs)", \
     1.5 with lines lw 2 dt 2 lc rgb "red" title "target 1.5x", \
     1 with lines lw 1 lc rgb "black" title "parity"
