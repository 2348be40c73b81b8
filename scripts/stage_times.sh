#!/usr/bin/env bash
# stage_times.sh - wall time of each stage of a make target (make run).
#
#   scripts/stage_times.sh run LOG NAME COMMAND [ARG...]
#       runs COMMAND, then appends "NAME SECONDS" to LOG; exits with the
#       command's status (a failed stage is logged as "NAME SECONDS failed").
#   scripts/stage_times.sh report LOG
#       prints every logged stage with its time and the total.
# Times are whole-process wall clock (date +%s.%N before and after).
set -u

case "${1:-}" in
run)
    [ $# -ge 4 ] || { echo "usage: $0 run LOG NAME COMMAND [ARG...]" >&2; exit 2; }
    log=$2 name=$3
    shift 3
    t0=$(date +%s.%N)
    "$@"
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" -eq 0 ]; then
        echo "$name $secs" >>"$log"
    else
        echo "$name $secs failed" >>"$log"
        echo "stage_times: stage '$name' failed (exit $rc) after $secs s" >&2
    fi
    exit "$rc"
    ;;
report)
    [ $# -eq 2 ] || { echo "usage: $0 report LOG" >&2; exit 2; }
    [ -f "$2" ] || { echo "stage_times: $2: no stages logged" >&2; exit 1; }
    awk '{ t += $2; printf "  %-10s %8.1f s  (%dm %02ds)%s\n", $1, $2, int($2 / 60), int($2) % 60, $3 ? "  " $3 : "" }
         END { printf "  %-10s %8.1f s  (%dm %02ds)\n", "total", t, int(t / 60), int(t) % 60 }' "$2"
    ;;
*)
    echo "usage: $0 run LOG NAME COMMAND [ARG...] | report LOG" >&2
    exit 2
    ;;
esac
