#!/bin/sh
# Dev study: attention-distribution distillation (beta_attention) for the
# 3 + 3 student: 600 steps of 4096 tokens, one thread each, the two arms
# side by side (the reference without the term is ../seqkd/gold, the same
# config with beta_attention 0). Compare dev_nll_g2 in OUT/*/metrics.jsonl and
# the dev WER of the 3 + 3 assembly printed at the end.
#   A01: beta_attention 0.1;  A1: beta_attention 1.
# Run from the repository root after `make`.
set -eu
D=models/dev-study/attention
O=${OUT:-build/exp/attention}
mkdir -p "$O"
for x in A01 A1; do
    build/modtx modularize --teacher models/g2p-teacher --config $D/$x.json --out "$O/$x" \
        $( [ -f "$O/$x/bank_state.safetensors" ] && echo --resume ) > "$O/$x.log" 2>&1 &
done
wait
for x in A01 A1; do
    rm -rf "$O/$x-2x"
    build/modtx assemble --model "$O/$x" --ratio 2 --strategy size --out "$O/$x-2x" > /dev/null
    printf '%s: ' $x; build/modtx eval --model "$O/$x-2x" --split dev
done
