#!/bin/sh
# Dev study: sequence-level distillation (Kim & Rush 2016) for the 3 + 3
# student: train on the teacher's greedy transcription of every training
# word (train_data) instead of the gold pronunciations, with the same
# objective (CE on those targets + KD + hidden-state MSE). 600 steps of
# 4096 tokens, one thread each, the two arms side by side; dev WER of the
# 3 + 3 assembly at the end.
#   gold:    models/g2p-student-3x3-nolocal.json with 600 steps;
#   teacher: the same with "train_data": the teacher's transcriptions.
# Run from the repository root after `make`.
set -eu
D=models/dev-study/seqkd
O=${OUT:-build/exp/seqkd}
mkdir -p "$O"
DICT=/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict
# the training words: base words in order of first appearance, group index
# i % 20 < 17 (docs/data.md), characters a-z and ' only
awk '{sub(/#.*/,""); if (NF<2) next; w=$1; sub(/\([0-9]+\)$/,"",w);
      if (w !~ /^[a-z'"'"']+$/) next;
      if (!(w in seen)) {seen[w]=n; if (n%20<17) print w; n++}}' "$DICT" > "$O/train-words.txt"
build/modtx predict --model models/g2p-teacher < "$O/train-words.txt" > "$O/teacher-train.tsv"
for x in gold teacher; do
    build/modtx modularize --teacher models/g2p-teacher --config $D/$x.json --out "$O/$x" \
        $( [ -f "$O/$x/bank_state.safetensors" ] && echo --resume ) > "$O/$x.log" 2>&1 &
done
wait
for x in gold teacher; do
    rm -rf "$O/$x-2x"
    build/modtx assemble --model "$O/$x" --ratio 2 --strategy size --out "$O/$x-2x" > /dev/null
    printf '%s: ' $x; build/modtx eval --model "$O/$x-2x" --split dev
done
