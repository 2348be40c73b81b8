#!/bin/sh
# Dev study: the objective's weights and the module init, on 600-step banks
# of the shipped objective (4096 tokens a step in 3 parts, match_rate 0.5,
# replacement rate reaching 1 at 20% of the steps), one thread each, two
# side by side. Each arm changes one thing of B:
#   B   alpha_kd 1, temperature 2, beta_hidden 0.1 relative, init last/middle/last
#   Bs  B with another seed (the noise between two runs of one config)
#   IF / IM / IL   init first / middle / last for every granularity
#   IX  init last / middle / middle (g = 2, 3, 6)
#   HA  hidden_norm absolute;  H0 / H1  beta_hidden 0 / 1
#   K0 / K3  alpha_kd 0 / 3;   T1 / T4  temperature 1 / 4
#   R1  replacement rate 1 from the first step (no curriculum)
#   L0  label_smoothing 0
#   C   IX with alpha_kd 3 and temperature 1 (the three gains together)
# Prints, per arm, the dev NLL of the uniform 2x/3x/6x at the last step and
# the whole-dev WER of the assembly `assemble --strategy search` picks at
# 2x, 2.4x, 3x, 4x and 6x, with their mean. Run from the repository root
# after `make`; ARMS="B IF" runs a subset; a finished arm is not rerun.
set -eu
D=models/dev-study/objective
O=${OUT:-build/exp/objective}
ARMS=${ARMS:-"B Bs IF IM IL HA H0 H1 K0 K3 T1 T4 R1 L0 IX C"}
mkdir -p "$O"
train() {
    [ -f "$O/$1/model.safetensors" ] && grep -q '"step":600,"dev_nll' "$O/$1/metrics.jsonl" && return 0
    build/modtx modularize --teacher models/g2p-teacher --config $D/$1.json --out "$O/$1" \
        $( [ -f "$O/$1/bank_state.safetensors" ] && echo --resume ) > "$O/$1.log" 2>&1
}
set -- $ARMS
while [ $# -gt 0 ]; do
    train "$1" & p1=$!
    if [ $# -gt 1 ]; then train "$2" & p2=$!; wait $p2; fi
    wait $p1
    shift; [ $# -gt 0 ] && shift
done
for x in $ARMS; do
    nll=$(grep '"step":600,"dev_nll' "$O/$x/metrics.jsonl" | python3 -c \
        'import json,sys; d=json.loads(sys.stdin.read()); print("%.3f %.3f %.3f" % (d["dev_nll_g2"], d["dev_nll_g3"], d["dev_nll_g6"]))')
    wers=""
    for r in 2 2.4 3 4 6; do
        rm -rf "$O/$x-a$r"
        build/modtx assemble --model "$O/$x" --ratio $r --strategy search --out "$O/$x-a$r" > /dev/null
        w=$(build/modtx eval --model "$O/$x-a$r" --split dev --json | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["wer"])')
        wers="$wers $w"
    done
    echo "$x nll $nll wer$wers mean $(echo $wers | python3 -c 'import sys; v=[float(t) for t in sys.stdin.read().split()]; print("%.2f" % (sum(v)/len(v)))')"
done
