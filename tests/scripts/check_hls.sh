#!/usr/bin/env bash
# check_hls.sh - synthesizability checks of the HLS kernel without Vitis.
#
# Usage: tests/scripts/check_hls.sh [HLS_DIR]   (default hls, from the repo root)
#        tests/scripts/check_hls.sh --self-test  (breaks each rule once on a
#                                                 temp copy; each must fail)
# Rules checked on HLS_DIR/mtx_engine.c (which includes its mtx_engine_*.h):
#   1 builds as C99 with -Wvla -Werror -fno-builtin -Wall -Wextra (plus
#     -Wno-unknown-pragmas -Wno-unused-label: gcc neither knows HLS pragmas
#     nor sees loop labels used), with and without -D__SYNTHESIS__;
#   2 `nm -u` of the object lists nothing but memcpy/memset;
#   3 no recursion and no function pointers: the call graph of
#     gcc -fcallgraph-info=su (at -O0, nothing inlined) has no cycle, no
#     indirect call, and no function with an unbounded (dynamic) stack;
#   4 no malloc/free/printf/libm names in the synthesized source (after the
#     preprocessor, so an included <stdio.h> counts);
#   5 every array of compile-time size: -Wvla, and no unsized `[]`;
#   6 test-only code behind #ifndef __SYNTHESIS__: built with __SYNTHESIS__
#     the object defines one global symbol, mtx_engine;
#   7 every loop is named (a `LABEL:` line right above each `for`);
#   8 each argument of hls/mtx_kernel_args.h has its INTERFACE pragma
#     (m_axi with its bundle, or s_axilite), plus s_axilite port=return.
# Prints one line per failure and exits 1 on any; "check_hls: OK" otherwise.
set -u

CC=${CC:-gcc}
# the call-graph dump is a GCC option, whatever compiler builds the rest
CG_CC=${CG_CC:-gcc}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

self_test() {
    local tmp fail=0
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    cp -r "$root/hls" "$tmp/clean"
    if ! bash "$0" "$tmp/clean" >"$tmp/log" 2>&1; then
        echo "check_hls --self-test: the unbroken copy fails:" >&2
        cat "$tmp/log" >&2
        return 1
    fi
    # name | file | sed expression applied to it (each breaks one rule)
    local breaks=(
        "vla|mtx_engine.c|s/^    eng_cfg g;/    eng_cfg g; int vla_[batch + 1]; vla_[0] = 0; (void)vla_;/"
        "warning|mtx_engine.c|s/^    eng_cfg g;/    eng_cfg g; int unused_;/"
        "libm|mtx_engine.c|s/^    eng_cfg g;/    extern double sqrt(double); eng_cfg g; if (batch == 99u) *status = (int)sqrt(2.0);/"
        "malloc|mtx_engine.c|s/^    eng_cfg g;/    extern void *malloc(unsigned long); eng_cfg g; if (batch == 99u) *status = malloc(4) != 0;/"
        "stdio|mtx_engine.c|s|^#include \"format/layout.h\"|#include <stdio.h>\\n#include \"format/layout.h\"|"
        "recursion|mtx_engine_check.h|s/^        if (rem >= b) {/        if (b == 0) return udiv48(a, 1);\\n        if (rem >= b) {/"
        "fnptr|mtx_engine.c|s/^    eng_cfg g;/    int32_t (*q8p_)(int64_t) = q8; eng_cfg g; if (batch == 99u) *status = q8p_(1);/"
        "unsized|mtx_engine_check.h|s/^static int in_range(/static const int unsized_tab_[] = {1};\\nstatic int in_range(/"
        "test-only|mtx_engine.c|\$a int mtx_engine_debug_only(void);\\nint mtx_engine_debug_only(void) { return 1; }"
        "unnamed-loop|mtx_engine.c|/^ISQRT_BIT:/d"
        "bundle|mtx_engine.c|s/port=plan offset=slave bundle=gmem1/port=plan offset=slave bundle=gmem0/"
        "axilite|mtx_engine.c|/s_axilite port=batch/d"
    )
    local b name file expr
    for b in "${breaks[@]}"; do
        name=${b%%|*}
        b=${b#*|}
        file=${b%%|*}
        expr=${b#*|}
        rm -rf "$tmp/broken"
        cp -r "$root/hls" "$tmp/broken"
        sed -i -e "$expr" "$tmp/broken/$file"
        if cmp -s "$root/hls/$file" "$tmp/broken/$file"; then
            echo "check_hls --self-test: break '$name' did not change $file" >&2
            fail=1
        elif bash "$0" "$tmp/broken" >"$tmp/log" 2>&1; then
            echo "check_hls --self-test: break '$name' was not detected" >&2
            fail=1
        else
            echo "check_hls --self-test: break '$name' detected: $(grep -m1 'check_hls:' "$tmp/log")"
        fi
    done
    [ "$fail" -eq 0 ] && echo "check_hls --self-test: OK (${#breaks[@]} breaks detected)"
    return "$fail"
}

if [ "${1:-}" = "--self-test" ]; then
    self_test
    exit $?
fi

dir=${1:-$root/hls}
src=$dir/mtx_engine.c
args_h=$dir/mtx_kernel_args.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "check_hls: $*" >&2; fail=1; }

flags=(-std=c99 -Wall -Wextra -Wvla -Werror -fno-builtin -Wno-unknown-pragmas -Wno-unused-label -I"$root/host" -I"$dir")

# 1, 5: builds with and without __SYNTHESIS__.
"$CC" "${flags[@]}" -O2 -c "$src" -o "$tmp/k.o" 2>"$tmp/cc.log" || bad "build failed: $(head -3 "$tmp/cc.log" | tr '\n' ' ')"
"$CC" "${flags[@]}" -O2 -D__SYNTHESIS__ -c "$src" -o "$tmp/ks.o" 2>"$tmp/ccs.log" ||
    bad "build with -D__SYNTHESIS__ failed: $(head -3 "$tmp/ccs.log" | tr '\n' ' ')"

# 2: external references.
if [ -f "$tmp/ks.o" ]; then
    for sym in $(nm -u "$tmp/ks.o" | awk '{print $NF}'); do
        case $sym in memcpy | memset) ;; *) bad "nm -u: calls '$sym' (only memcpy/memset allowed)" ;; esac
    done
fi

# 6: only mtx_engine is defined under __SYNTHESIS__.
if [ -f "$tmp/ks.o" ]; then
    defs=$(nm -g --defined-only "$tmp/ks.o" | awk '{print $NF}' | tr '\n' ' ')
    [ "$defs" = "mtx_engine " ] || bad "with __SYNTHESIS__ the object defines '$defs' (only mtx_engine; test code behind #ifndef __SYNTHESIS__)"
fi

# 3: call graph (no inlining at -O0, so every static function is a node).
if "$CG_CC" "${flags[@]}" -O0 -D__SYNTHESIS__ -fcallgraph-info=su -c "$src" -o "$tmp/cg.o" 2>/dev/null; then
    ci=$(ls "$tmp"/*.ci 2>/dev/null | head -1)
    [ -z "$ci" ] && ci=$(ls ./*.ci 2>/dev/null | head -1)
    if [ -z "$ci" ]; then
        bad "gcc -fcallgraph-info wrote no .ci file"
    else
        grep -q '__indirect_call' "$ci" && bad "indirect call (function pointer) in the call graph"
        grep -q '(dynamic)' "$ci" && bad "a function with an unbounded dynamic stack frame: $(grep -m1 '(dynamic)' "$ci")"
        cycle=$(sed -n 's/^edge: { sourcename: "\([^"]*\)" targetname: "\([^"]*\)".*/\1 \2/p' "$ci" | awk '
            { e[$1, $2] = 1; n[$1] = 1; n[$2] = 1 }
            END {
                for (k in n) for (i in n) if ((i, k) in e) for (j in n) if ((k, j) in e) e[i, j] = 1
                for (i in n) if ((i, i) in e) { print i; exit }
            }')
        [ -n "$cycle" ] && bad "recursion: '$cycle' reaches itself in the call graph"
    fi
else
    bad "gcc -fcallgraph-info=su failed"
fi

# 4, 5: forbidden names and unsized arrays in the synthesized source: the
# kernel preprocessed with __SYNTHESIS__ (comments and test-only blocks gone,
# every header it includes expanded).
if "$CC" "${flags[@]}" -D__SYNTHESIS__ -E -P "$src" -o "$tmp/s.c" 2>/dev/null; then
    hit=$(grep -nE '\b(malloc|calloc|realloc|free|printf|fprintf|sprintf|puts|exit|abort|sqrt|exp|exp2|log|pow|floor|ceil|round|sqrtf|expf)\b *\(' "$tmp/s.c" | head -1)
    [ -n "$hit" ] && bad "forbidden name in synthesized code: $hit"
    hit=$(grep -nE '\[[[:space:]]*\]' "$tmp/s.c" | head -1)
    [ -n "$hit" ] && bad "array without a compile-time size: $hit"
else
    bad "preprocessing with -D__SYNTHESIS__ failed"
fi

# 7: named loops.
for f in "$src" "$dir"/mtx_engine_*.h; do
    [ -f "$f" ] || continue
    awk -v f="$(basename "$f")" '
        /^[ \t]*for[ \t]*\(/ { if (prev !~ /^[ \t]*[A-Z][A-Z0-9_]*:[ \t]*$/) { printf "%s:%d: loop without a label\n", f, NR; bad = 1 } }
        /[^ \t]/ { prev = $0 }
        END { exit bad }' "$f" >"$tmp/loops" || bad "$(head -1 "$tmp/loops")"
done

# 8: interface pragmas against the X-macro.
while read -r name is_ptr bundle; do
    if [ "$is_ptr" = 1 ]; then
        grep -qE "^#pragma HLS INTERFACE m_axi port=$name offset=slave bundle=$bundle depth=[0-9]+\$" "$src" ||
            bad "no '#pragma HLS INTERFACE m_axi port=$name offset=slave bundle=$bundle depth=N' for argument $name"
    else
        grep -qE "^#pragma HLS INTERFACE s_axilite port=$name\$" "$src" ||
            bad "no '#pragma HLS INTERFACE s_axilite port=$name' for argument $name"
    fi
done < <(sed -nE 's/^[[:space:]]*X\(([a-z_]+), ([01]), [^"]*"([^"]*)".*/\1 \2 \3/p' "$args_h")
grep -q '^#pragma HLS INTERFACE s_axilite port=return$' "$src" || bad "no s_axilite port=return"

if [ "$fail" -ne 0 ]; then
    echo "check_hls: FAILED" >&2
    exit 1
fi
echo "check_hls: OK ($(basename "$src"): C99 build, nm -u, call graph, names, array sizes, labels, interfaces)"
