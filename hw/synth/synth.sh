#!/bin/bash
# synth.sh YOSYS OUTDIR "TOP..." SRC... - out-of-context synthesis of each top
# with yosys synth_xilinx for UltraScale+ (xcup, no I/O buffers), then one
# report: OUTDIR/report.json with LUT / FF / DSP / BRAM (36 Kb equivalents) /
# URAM per top (tops nest, so no total), LUT-RAM and carry cells beside them. Per-top
# logs and stat outputs stay in OUTDIR. Yosys maps generically and does no
# placement, so figures are estimates (docs/rtl.md says which way they err).
set -euo pipefail
yosys=$1 out=$2 tops=$3
shift 3
srcs="$*"
for top in $tops; do
    start=$(date +%s)
    "$yosys" -q -l "$out/$top.log" -p "read_verilog -sv $srcs; synth_xilinx -family xcup -noiopad -top $top; tee -q -o $out/$top.stat stat" >/dev/null
    echo "synth: $top done in $(( $(date +%s) - start )) s"
done
# Sum the cell counts of the top's flattened design (the last stat table).
summarize() {
    awk '
        /^=== / { delete n }               # keep only the last module table (the flat top)
        $1 ~ /^(LUT[1-6])$/            { n["lut"] += $2 }
        $1 ~ /^(FDRE|FDSE|FDCE|FDPE)$/  { n["ff"] += $2 }
        $1 ~ /^DSP48E2$/               { n["dsp"] += $2 }
        $1 ~ /^RAMB36E2$/              { n["bram"] += $2 }
        $1 ~ /^RAMB18E2$/              { n["bram"] += $2 / 2 }
        $1 ~ /^URAM288$/               { n["uram"] += $2 }
        $1 ~ /^RAM(32|64|128|256)/     { n["lutram_cells"] += $2 }
        $1 ~ /^CARRY[48]$/             { n["carry"] += $2 }
        END { printf "{\"lut\": %d, \"ff\": %d, \"dsp\": %d, \"bram36\": %g, \"uram\": %d, \"lutram_cells\": %d, \"carry\": %d}",
                     n["lut"], n["ff"], n["dsp"], n["bram"], n["uram"], n["lutram_cells"], n["carry"] }
    ' "$1"
}
{
    echo "{"
    echo "  \"tool\": \"$("$yosys" -V | head -1)\","
    echo "  \"flow\": \"synth_xilinx -family xcup -noiopad (out of context, per top)\","
    echo "  \"tops\": {"
    sep=""
    for top in $tops; do
        printf '%s    "%s": %s' "$sep" "$top" "$(summarize "$out/$top.stat")"
        sep=$',\n'
    done
    printf '\n  }\n}\n'
} > "$out/report.json.tmp"
mv "$out/report.json.tmp" "$out/report.json"
cat "$out/report.json"
