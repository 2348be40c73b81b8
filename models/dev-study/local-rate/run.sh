#!/bin/sh
# Dev study: how to spend the ~10-minute bank budget of `make run` (a step
# with the local term on every module costs ~1.7 s on 2 cores, with a
# quarter of them ~1.0 s). Banks from the shipped teacher, one
# thread each, run one after another while other runs shared the machine:
#   A: local_rate 0.25, 600 steps;
#   C: local_rate 1, 350 steps (B, local_rate 0.5 for 500 steps, not run);
#   M: as A with match_rate 0.5 (the decoder copies the encoder's tiling
#      half of the time).
# Compare dev_nll_g2/g3/g6 at the last step in OUT/*/metrics.jsonl.
# Run from the repository root after `make`.
set -eu
D=models/dev-study/local-rate
O=${OUT:-build/exp/local-rate}
mkdir -p "$O"
for x in A C M; do
    build/modtx modularize --teacher models/g2p-teacher --config $D/$x.json --out "$O/$x" \
        $( [ -f "$O/$x/bank_state.safetensors" ] && echo --resume ) > "$O/$x.log" 2>&1
done
