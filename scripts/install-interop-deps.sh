#!/usr/bin/env bash
# Installs the third-party Kafka clients that tests/interop.rs runs against the emulator:
#   - kcat (Debian bookworm: kcat 1.7.1 on librdkafka 2.0.2), via apt-get, only if `kcat` is missing;
#   - kafka-python, pinned, via pip for the python3 the tests use ($KAFKA_MATRIX_PYTHON, default python3).
# Idempotent: re-running it changes nothing once both are present at the pinned versions.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

KAFKA_PYTHON_VERSION="3.0.12"

if command -v kcat >/dev/null 2>&1; then
    echo "kcat present: $(kcat -V 2>/dev/null | grep -m1 '^Version' || echo unknown)"
else
    apt_install kcat
    echo "kcat installed: $(kcat -V 2>/dev/null | grep -m1 '^Version' || echo unknown)"
fi

have="$("$PYTHON" -c 'import kafka; print(kafka.__version__)' 2>/dev/null || true)"
if [ "$have" = "$KAFKA_PYTHON_VERSION" ]; then
    echo "kafka-python present: $have"
else
    pip_install "kafka-python==${KAFKA_PYTHON_VERSION}"
    echo "kafka-python installed: $("$PYTHON" -c 'import kafka; print(kafka.__version__)')"
fi
