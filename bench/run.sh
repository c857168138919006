#!/bin/bash
# bench/run.sh — the whole side-by-side comparison (issue 15): runs
# bench/p11bench (p11kms, SoftHSMv2 and raw OpenSSL, interleaved) and
# writes docs/perf/results-DATE.json, a machine description and one PNG
# plot per group (gnuplot).
#
# usage: bench/run.sh [BUILDDIR] [-- extra p11bench options, e.g. --quick]
# BUILDDIR defaults to the current directory (an out-of-tree build works).
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=$PWD
if [ $# -gt 0 ] && [ "$1" != "--" ]; then builddir=$(cd "$1" && pwd); shift; fi
[ "${1:-}" = "--" ] && shift

bench=$builddir/bench/p11bench
module=${P11KMS_MODULE:-$builddir/pkcs11/.libs/p11kms-pkcs11.so}
softhsm=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
out=${P11BENCH_OUT:-$srcdir/docs/perf}
date=$(date -u +%Y%m%d-%H%M)

[ -x "$bench" ] || make -C "$builddir" bench/p11bench
[ -f "$module" ] || { echo "run.sh: no p11kms module at $module" >&2; exit 1; }
mkdir -p "$out"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p11bench-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The machine description: numbers mean little without it.
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm)"
    grep -m1 'model name' /proc/cpuinfo || true
    echo "cpus online: $(nproc)"
    grep -E 'MemTotal' /proc/meminfo || true
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "openssl: $(openssl version 2>/dev/null || echo unknown)"
    echo "softhsm: $(dpkg-query -W -f='${Version}' softhsm2 2>/dev/null || echo unknown)"
    echo "sqlite: $(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || echo unknown)"
    echo "p11kms module: $module"
    echo "p11bench options: $*"
} >"$out/machine-$date.txt"

"$bench" --p11kms "$module" --softhsm "$softhsm" \
    --json "$out/results-$date.json" --tsv "$tmp/rows.tsv" "$@" | tee "$out/results-$date.txt"

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine-$date.txt"

if ! command -v gnuplot >/dev/null; then
    echo "run.sh: gnuplot not installed (apt-get install gnuplot-nox): no plots" >&2
    exit 0
fi
for group in $(cut -f1 "$tmp/rows.tsv" | sort -u); do
    awk -F'\t' -v g="$group" '$1 == g { printf "%s/%sT\t%s\t%s\t%s\n", $2, $3, $4, $5, $6 }' \
        "$tmp/rows.tsv" >"$tmp/$group.dat"
    gnuplot -e "datafile='$tmp/$group.dat'; outfile='$out/$group-$date.png'; \
                grouptitle='$group'" "$srcdir/bench/plot.gp"
    echo "wrote $out/$group-$date.png"
done
echo "wrote $out/results-$date.json"
