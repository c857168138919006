#!/bin/bash
# bench/run.sh — the whole side-by-side comparison (issue 15): runs
# bench/p11bench (p11kms, SoftHSMv2 and raw OpenSSL, interleaved) and
# writes docs/perf/results-DATE.json, a machine description and one PNG
# plot per group (gnuplot).
#
# usage: bench/run.sh [BUILDDIR] [-- extra p11bench options, e.g. --quick]
#        bench/run.sh --plot docs/perf/results-DATE.json   (plots again)
# BUILDDIR defaults to the current directory (an out-of-tree build works).
set -euo pipefail

# plot_results JSON OUTDIR DATE — one PNG per group from a results file
# (needs gnuplot and jq; also usable alone: run.sh --plot JSON).
plot_results() {
    local json=$1 dir=$2 stamp=$3 group dat cols
    if ! command -v gnuplot >/dev/null || ! command -v jq >/dev/null; then
        echo "run.sh: gnuplot-nox and jq are needed for the plots" >&2
        return 0
    fi
    for group in $(jq -r '[.results[].group] | unique | .[]' "$json"); do
        dat=$(mktemp "${TMPDIR:-/tmp}/p11bench-plot.XXXXXX")
        # rows without any measurement (a skipped find size) are left out
        jq -r --arg g "$group" '.results[] | select(.group == $g)
            | [ (.case + "/" + (.threads | tostring) + "T"),
                ((.p11kms | numbers) // 0), ((.softhsm | numbers) // 0),
                ((.openssl | numbers) // 0) ]
            | select(.[1] + .[2] + .[3] > 0) | @tsv' "$json" >"$dat"
        # only series with at least one value: gnuplot rejects empty ones
        cols=$(awk -F'\t' '{ for (i = 2; i <= 4; i++) if ($i > 0) c[i] = 1 }
                           END { for (i = 2; i <= 4; i++) if (c[i]) printf "%d ", i }' "$dat")
        if [ -n "$cols" ]; then
            gnuplot -e "datafile='$dat'; outfile='$dir/$group-$stamp.png'; \
                        grouptitle='$group'; cols='$cols'" "$srcdir/bench/plot.gp"
            echo "wrote $dir/$group-$stamp.png"
        fi
        rm -f "$dat"
    done
}

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${1:-}" = "--plot" ]; then
    json=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
    stamp=$(basename "$json" .json)
    plot_results "$json" "$(dirname "$json")" "${stamp#results-}"
    exit 0
fi
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
    --json "$out/results-$date.json" "$@" | tee "$out/results-$date.txt"

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine-$date.txt"

plot_results "$out/results-$date.json" "$out" "$date"
echo "wrote $out/results-$date.json"
