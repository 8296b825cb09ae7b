#!/usr/bin/env bash
# Enforces Spry's layering: a file may include headers of its own layer and
# of the layers below it, never above. Usage: scripts/layercheck.sh [ROOT]
# ROOT holds src/ and include/ (default: the repository). Prints each
# violation as FILE:LINE and exits 1 when there is any.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# Rank of each layer, lowest first (docs/ARCHITECTURE.md).
declare -A rank=([base]=0 [wasm]=1 [wasi]=2 [component]=3 [host]=4 [trigger]=5 [http]=5 [app]=6 [cli]=7)
# Public headers belong to the layer that implements them.
declare -A public=([spry.h]=base [error.h]=base [wasm.h]=wasm [pool.h]=wasm [wasi.h]=wasi [component.h]=component)

layer_of_header() { # path as written in the #include
    local inc=$1
    case $inc in
        spry/*) echo "${public[${inc#spry/}]:-}" ;;
        */*) local l=${inc%%/*}; [ -n "${rank[$l]:-}" ] && echo "$l" || echo "" ;;
        *) echo "" ;;
    esac
}

bad=0
check_file() { # file, its layer
    local file=$1 layer=$2 n=0 line inc il
    while IFS= read -r line; do
        n=$((n + 1))
        [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
        inc=${BASH_REMATCH[1]}
        il=$(layer_of_header "$inc")
        [ -z "$il" ] && continue
        if [ "${rank[$il]}" -gt "${rank[$layer]}" ]; then
            echo "$file:$n: layer '$layer' includes \"$inc\" from higher layer '$il'"
            bad=1
        fi
    done <"$file"
}

for dir in "$root"/src/*/; do
    [ -d "$dir" ] || continue
    layer=$(basename "$dir")
    if [ -z "${rank[$layer]:-}" ]; then
        echo "$dir: unknown layer '$layer' (add it to scripts/layercheck.sh and docs/ARCHITECTURE.md)"
        bad=1
        continue
    fi
    while IFS= read -r f; do check_file "$f" "$layer"; done < <(find "$dir" -name '*.[ch]')
done
if [ -d "$root/include/spry" ]; then
    for f in "$root"/include/spry/*.h; do
        [ -f "$f" ] || continue
        layer=${public[$(basename "$f")]:-}
        if [ -z "$layer" ]; then
            echo "$f: public header has no layer (add it to scripts/layercheck.sh)"
            bad=1
            continue
        fi
        check_file "$f" "$layer"
    done
fi
exit $bad
