# bench/plot.gp — one clustered bar chart per benchmark group (bench/run.sh).
# Input rows: "case/threadsT <tab> p11kms <tab> softhsm <tab> openssl" (ops/s).
set terminal pngcairo size 1100,520 noenhanced font ",10"
set output outfile
set title sprintf("p11bench: %s (ops/s, log scale; higher is better)", grouptitle)
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [1:*]
set grid ytics
set xtics rotate by -35 scale 0
set key top right
set datafile separator "\t"
label(c) = c == 2 ? "p11kms (audited)" : c == 3 ? "SoftHSMv2 (token keys)" : "raw OpenSSL EVP"
# cols: the columns (2 p11kms, 3 SoftHSMv2, 4 OpenSSL) that have data
plot for [c in cols] datafile using (column(c + 0) > 0 ? column(c + 0) : 1/0):xtic(1) \
     title label(c + 0)
