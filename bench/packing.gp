# Plots of bench/packing.sh (run it; it passes dir='docs/img'):
#   packing-allocation.svg  allocation as arrivals grow, default pod list, all policies
#   packing-gpushare.svg    unallocated GPUs at 100 % arrivals vs share of sharing pods
#   packing-lists.svg       unallocated GPUs at 100 % arrivals on every list the paper ran
if (!exists("dir")) dir = "docs/img"
set terminal svg size 900,520 dynamic enhanced font "sans,12" background rgb "white"
set datafile separator "\t"
set key autotitle columnhead
set grid lc rgb "#dddddd"

set output dir."/packing-allocation.svg"
set title "Alibaba GPU-sharing trace (default pod list, 6,212 GPUs): median of 10 seeds"
set xlabel "arrived workload (% of cluster GPU capacity)"
set ylabel "GPU capacity allocated (%)"
set xrange [60:130]
set yrange [60:100]
set key left top
plot for [i=2:9] dir."/packing-allocation.dat" index 0 using 1:i with lines lw 2, \
     dir."/packing-allocation.dat" index 1 using 1:2 with points pt 7 ps 1.2 lc rgb "black", \
     dir."/packing-allocation.dat" index 1 using 1:3 with points pt 5 ps 1.2 lc rgb "#888888"

set output dir."/packing-gpushare.svg"
set title "Unallocated GPUs at 100 % arrivals (median of 10 seeds; paper: mean)"
set xlabel "GPU requests made by GPU-sharing pods (%)"
set ylabel "unallocated GPU capacity (%)"
set xrange [15:105]
set yrange [0:*]
set key left top
plot for [i=2:9] dir."/packing-gpushare.dat" using 1:i with linespoints lw 2 pt 7, \
     dir."/packing-gpushare.dat" using 1:10 with points pt 9 ps 1.6 lc rgb "black", \
     dir."/packing-gpushare.dat" using 1:11 with points pt 11 ps 1.6 lc rgb "#888888"

set output dir."/packing-lists.svg"
set title "Unallocated GPUs at 100 % arrivals, every pod list the FGD paper ran (mpshare: median of 10 seeds; paper: mean)"
set xlabel ""
set ylabel "unallocated GPU capacity (%)"
set autoscale x
set yrange [0:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -45 scale 0
set key right top
plot for [i=2:6] dir."/packing-lists.dat" using i:xtic(1)
