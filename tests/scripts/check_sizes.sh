#!/usr/bin/env bash
# check_sizes.sh - keep host/ code in pieces a reader can hold: no function
# longer than MAX_FN lines (120) and no file longer than MAX_FILE lines (600).
#
# Functions are found with a brace-depth scanner (comments, string and
# character literals skipped): a top-level "{" whose text since the previous
# top-level ";", "}" or preprocessor line holds a "(" and no "=" opens a
# function; its length runs from the first line of its signature to its
# closing "}". Offenders are listed as file:line (the signature's first line)
# with their length, and the script exits 1.
#
# Usage: tests/scripts/check_sizes.sh [HOST_DIR] [EXCEPTIONS]
#   (defaults: host and tests/scripts/size_exceptions.txt, from the repo root)
# EXCEPTIONS lists known offenders, one a line: "path" (a file over the
# limit) or "path:function" (one function); '#' starts a comment. An entry
# that no longer offends is reported too, so the list only shrinks.
set -u

host=${1:-host}
exceptions=${2:-tests/scripts/size_exceptions.txt}
MAX_FN=${MAX_FN:-120}
MAX_FILE=${MAX_FILE:-600}

declare -A ALLOW=()
if [ -f "$exceptions" ]; then
    while IFS= read -r line; do
        line=${line%%#*}
        line=$(tr -d '[:space:]' <<<"$line")
        [ -n "$line" ] && ALLOW[$line]=0
    done <"$exceptions"
fi

shopt -s nullglob
files=("$host"/*/*.[ch])
if [ ${#files[@]} -eq 0 ]; then
    echo "check_sizes: no files under $host/*/" >&2
    exit 1
fi

# One line per offender: "file<TAB>key<TAB>message".
scan() {
    awk -v maxfn="$MAX_FN" -v maxfile="$MAX_FILE" '
    function filesize() { if (prev != "" && prevn > maxfile) printf "%s\t%s\t%s: file is %d lines (limit %d)\n", prev, prev, prev, prevn, maxfile }
    FNR == 1 { filesize(); depth = 0; incomment = 0; head = ""; headline = 0 }
    { prev = FILENAME; prevn = FNR }
    {
        raw = $0; s = ""; n = length(raw); i = 1
        # strip comments, strings and character literals
        while (i <= n) {
            c = substr(raw, i, 1); c2 = substr(raw, i, 2)
            if (incomment) {
                if (c2 == "*/") { incomment = 0; i += 2 } else i++
                continue
            }
            if (c2 == "/*") { incomment = 1; i += 2; continue }
            if (c2 == "//") break
            if (c == "\"" || c == "\x27") {
                q = c; i++
                while (i <= n && substr(raw, i, 1) != q) i += (substr(raw, i, 1) == "\\") ? 2 : 1
                i++; s = s " "; continue
            }
            s = s c; i++
        }
        if (depth == 0 && s ~ /^[ \t]*#/) { head = ""; headline = 0; next }
        for (k = 1; k <= length(s); k++) {
            c = substr(s, k, 1)
            if (depth == 0) {
                if (c == "{") {
                    isfn = (head ~ /\(/ && head !~ /=/)
                    if (isfn) { fnstart = headline; fnname = head; sub(/\(.*/, "", fnname); m = split(fnname, parts, /[ \t*]+/); fnname = parts[m] }
                    depth = 1; continue
                }
                if (c == ";") { head = ""; headline = 0; continue }
                if (c !~ /[ \t]/ && headline == 0) headline = FNR
                head = head c
            } else {
                if (c == "{") depth++
                else if (c == "}") {
                    depth--
                    if (depth == 0) {
                        if (isfn && FNR - fnstart + 1 > maxfn)
                            printf "%s\t%s:%s\t%s:%d: function %s is %d lines (limit %d)\n", FILENAME, FILENAME, fnname, FILENAME, fnstart, fnname, FNR - fnstart + 1, maxfn
                        isfn = 0; head = ""; headline = 0
                    }
                }
            }
        }
        if (depth == 0 && head != "") head = head " "
    }
    END { filesize() }
    ' "$@"
}

fail=0
while IFS=$'\t' read -r file key msg; do
    if [ -n "${ALLOW[$key]+x}" ]; then
        ALLOW[$key]=1
        echo "check_sizes: allowed (size_exceptions.txt): $msg"
        continue
    fi
    echo "check_sizes: $msg" >&2
    fail=1
done < <(scan "${files[@]}")

for key in "${!ALLOW[@]}"; do
    if [ "${ALLOW[$key]}" = 0 ]; then
        echo "check_sizes: $key is in $exceptions but within the limits: remove it" >&2
        fail=1
    fi
done

if [ "$fail" -ne 0 ]; then
    echo "check_sizes: FAILED" >&2
    exit 1
fi
echo "check_sizes: ${#files[@]} files OK"
