#!/bin/sh
# Dev study: assemblies_per_step (the batch split into parts, each with its
# own assembly; at replacement rate 1 every step trains all three uniform
# tilings of both stacks). Banks from the shipped teacher, one thread each,
# two side by side. Compare dev_nll_g2/g3/g6 in OUT/*/metrics.jsonl.
#   S:   make-run config of the time (arm M of ../local-rate: 600 steps,
#        local_rate 0.25, match_rate 0.5) with assemblies_per_step 3;
#   N:   S without the local term (gamma_local 0);
#   L:   the bank config before this study (models/g2p-modular-long.json
#        of commit a00b40f: 1500 steps, local term on every module) with
#        assemblies_per_step 3;
#   LN:  L without the local term;
#   LN3: LN with 3 x 4096 tokens per step (each part a whole 4096-token
#        batch: per step the compute of the three one-shape students of
#        its granularities together);
#   LNM: LN with match_rate 1 (each part's decoder copies its encoder's
#        tiling: at rate 1 the parts are the three matched uniform
#        assemblies);
#   LNR: LN with the replacement rate reaching 1 at 20% of the steps
#        (replace_rate_slope 0.7 / 300) instead of 60%;
#   LN3R: LN3 with LNR's curriculum (run with two threads, nothing else
#        running);
#   LN3RH: LN3R with match_rate 0.5 (one thread, beside LN3RE) -- the
#        shipped bank;
#   LN3RE: LN3R with match_rate 0.8.
# The references (assemblies_per_step 1) are ../local-rate/M and the bank
# of commit a00b40f (models/g2p-modular/metrics.jsonl there).
# Run from the repository root after `make`.
set -eu
D=models/dev-study/parts
O=${OUT:-build/exp/parts}
mkdir -p "$O"
for x in S N L LN LN3 LNM LNR LN3R LN3RH LN3RE; do
    build/modtx modularize --teacher models/g2p-teacher --config $D/$x.json --out "$O/$x" \
        $( [ -f "$O/$x/bank_state.safetensors" ] && echo --resume ) > "$O/$x.log" 2>&1
done
