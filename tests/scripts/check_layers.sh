#!/usr/bin/env bash
# check_layers.sh - enforce the one-way dependency order of host/ folders.
#
# Every project include in host/*/*.[ch] must be written "folder/file.h" and
# point to the file's own folder, to a folder of a lower layer, or along one
# of the same-layer edges listed in ALLOWED below. Anything else is reported
# (file, line, include) and the script exits 1. Usage:
#   tests/scripts/check_layers.sh [HOST_DIR]     (default: host, from the repo root)
# Layers and edges: docs/architecture.md, "Dependency order".
set -u

host=${1:-host}

declare -A LEVEL=(
    [core]=0
    [model]=1 [io]=1 [data]=1 [format]=1
    [eval]=2 [train]=2 [modular]=2 [engine]=2 [device]=2
    [cli]=3
    # the HLS kernel (hls/, outside host/) includes only format/; the csim
    # backend includes it
    [hls]=1
)

# Same-layer edges, "from->to". Everything else within a layer is refused,
# which keeps the folders of one layer free of cycles.
declare -A ALLOWED=(
    # layer 1: batches are built for the model (mtx_batch, mtx_rng); model
    # directories hold a model and its vocabularies.
    [data->model]=1
    [io->model]=1
    [io->data]=1
    # layer 2: the bank trainer reuses the training config and run loop and
    # scores assemblies with the evaluator.
    [modular->train]=1
    [modular->eval]=1
    # the exporter quantizes a bank's assemblies, calibrating on training
    # words and comparing with the fp32 evaluator; backends run the golden
    # model.
    [engine->modular]=1
    [engine->train]=1
    [engine->eval]=1
    [device->engine]=1
)

fail=0
shopt -s nullglob
files=("$host"/*/*.[ch])
if [ ${#files[@]} -eq 0 ]; then
    echo "check_layers: no files under $host/*/" >&2
    exit 1
fi
for f in "${files[@]}"; do
    from=$(basename "$(dirname "$f")")
    if [ -z "${LEVEL[$from]+x}" ]; then
        echo "check_layers: $f: folder '$from' has no layer (add it to LEVEL)" >&2
        fail=1
        continue
    fi
    while IFS= read -r hit; do
        line=${hit%%:*}
        inc=${hit#*:}
        path=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/' <<<"$inc")
        if [[ $path != */* ]]; then
            echo "check_layers: $f:$line: $inc: write project includes as \"folder/file.h\"" >&2
            fail=1
            continue
        fi
        to=${path%%/*}
        if [ -z "${LEVEL[$to]+x}" ]; then
            echo "check_layers: $f:$line: $inc: unknown folder '$to'" >&2
            fail=1
            continue
        fi
        [ "$to" = "$from" ] && continue
        lf=${LEVEL[$from]} lt=${LEVEL[$to]}
        if [ "$lt" -gt "$lf" ]; then
            echo "check_layers: $f:$line: $inc: $from (layer $lf) must not include $to (layer $lt)" >&2
            fail=1
        elif [ "$lt" -eq "$lf" ] && [ -z "${ALLOWED[$from->$to]+x}" ]; then
            echo "check_layers: $f:$line: $inc: $from -> $to is not an allowed same-layer edge" >&2
            fail=1
        fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done

if [ "$fail" -ne 0 ]; then
    echo "check_layers: FAILED" >&2
    exit 1
fi
echo "check_layers: ${#files[@]} files OK"
