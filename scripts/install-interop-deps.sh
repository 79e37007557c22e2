#!/usr/bin/env bash
# Installs the third-party Kafka clients that tests/interop.rs runs against the emulator:
#   - kcat (Debian bookworm: kcat 1.7.1 on librdkafka 2.0.2), via apt-get, only if `kcat` is missing;
#   - kafka-python, pinned, via pip for the python3 the tests use ($KAFKA_MATRIX_PYTHON, default python3).
# Idempotent: re-running it changes nothing once both are present at the pinned versions.
set -euo pipefail

KAFKA_PYTHON_VERSION="3.0.12"
PYTHON="${KAFKA_MATRIX_PYTHON:-python3}"

if command -v kcat >/dev/null 2>&1; then
    echo "kcat present: $(kcat -V 2>/dev/null | grep -m1 '^Version' || echo unknown)"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    # An `apt-get install` before any `apt-get update` may find nothing; refresh the lists first.
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends kcat
    echo "kcat installed: $(kcat -V 2>/dev/null | grep -m1 '^Version' || echo unknown)"
fi

have="$("$PYTHON" -c 'import kafka; print(kafka.__version__)' 2>/dev/null || true)"
if [ "$have" = "$KAFKA_PYTHON_VERSION" ]; then
    echo "kafka-python present: $have"
else
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "kafka-python==${KAFKA_PYTHON_VERSION}"
    echo "kafka-python installed: $("$PYTHON" -c 'import kafka; print(kafka.__version__)')"
fi
