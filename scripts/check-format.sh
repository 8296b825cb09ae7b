#!/usr/bin/env bash
# Fails (listing the files) when any tracked or new C file differs from
# what clang-format makes of it with the committed .clang-format. One
# clang-format process checks every file (a process per file took over a
# minute on a loaded 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$( (git ls-files '*.c' '*.h'; git ls-files --others --exclude-standard '*.c' '*.h') 2>/dev/null | sort -u)
[ -z "$files" ] && files=$(find src include tests fuzz bench -name '*.[ch]' 2>/dev/null)
existing=()
for f in $files; do [ -f "$f" ] && existing+=("$f"); done
[ ${#existing[@]} -eq 0 ] && exit 0
out=$(clang-format --dry-run --Werror "${existing[@]}" 2>&1) && exit 0
# Diagnostics read "FILE:LINE:COL: error: code should be clang-formatted".
bad=$(printf '%s\n' "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
if [ -z "$bad" ]; then
    printf '%s\n' "$out" >&2
    exit 1
fi
for f in $bad; do echo "not formatted: $f (run: make format)"; done
exit 1
