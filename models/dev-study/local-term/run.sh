#!/bin/bash
# Dev study: the local term (gamma_local) on top of relative hidden-state MSE
# and init ["last", "middle", "last"]. 300-step banks from models/g2p-teacher
# (the study ran on the 5000-step teacher of commit 396e725, test WER 28.45), one
# thread each. A: gamma_local 0. B: gamma_local 1. Compare the dev NLL of the
# uniform assemblies (dev_nll_g2 / g3 / g6 in each metrics file).
set -euo pipefail
cd "$(dirname "$0")/../../.."
TEACHER=${TEACHER:-models/g2p-teacher}
OUT=${OUT:-build/dev-study/local-term}
mkdir -p "$OUT"
for v in A B; do
  OPENBLAS_NUM_THREADS=1 build/modtx modularize --teacher "$TEACHER" \
      --config models/dev-study/local-term/$v.json --out "$OUT/$v"
  grep dev_nll "$OUT/$v/metrics.jsonl"
done
