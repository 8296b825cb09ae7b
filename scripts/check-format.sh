#!/usr/bin/env bash
# Fails (listing the files) when any tracked or new C file differs from
# what clang-format makes of it with the committed .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$( (git ls-files '*.c' '*.h'; git ls-files --others --exclude-standard '*.c' '*.h') 2>/dev/null | sort -u)
[ -z "$files" ] && files=$(find src include tests fuzz bench -name '*.[ch]' 2>/dev/null)
bad=0
for f in $files; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: make format)"
        bad=1
    fi
done
exit $bad
