#!/usr/bin/env bash
# Installs the Debian packages Spry's build, tests and benchmarks need.
# Non-interactive, installs only what is missing, safe to run any number of
# times. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
    make gcc clang lld clang-format       # build; clang also builds guests
    wabt                                  # wast2json for the spec suite
    wasi-libc libclang-rt-14-dev-wasm32   # C guests for wasm32-wasi
    rustc libstd-rust-dev-wasm32          # the Rust guest (/usr/bin/rustc --target wasm32-wasi)
    hyperfine                             # make bench-wasi
    wrk                                   # make bench-http
    libclang-rt-14-dev                    # libFuzzer, sanitizer runtimes for clang
    nodejs npm                            # node:wasi reference runtime; npm installs jco
                                          # (scripts/components-setup.sh) for the component
                                          # tests, which need node >= 20.19: the machines come
                                          # with it; with Debian 12's nodejs 18 they skip
    strace                                # syscall checks in pool tests
    libh2o-evloop-dev libssl-dev pkg-config  # the HTTP server (docs/http.md)
    libnghttp2-dev                        # its HTTP/2 (docs/http.md, "Libraries")
    nghttp2-client                        # HTTP/2 tests: nghttp shows response trailers
    curl openssl                          # HTTP tests: client, test certificates
    libcurl4-openssl-dev libssl-dev       # manifest URL sources (download, sha256); outbound HTTP
    python3                               # a loopback HTTP server in manifest tests
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
# A newer node or npm from another source (which usually brings both) will do.
for tool in nodejs:node npm:npm; do
    if [[ " ${missing[*]} " == *" ${tool%%:*} "* ]] && command -v "${tool#*:}" >/dev/null 2>&1; then
        missing=("${missing[@]/${tool%%:*}/}")
        read -r -a missing <<<"${missing[*]}"
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps.sh: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
