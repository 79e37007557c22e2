#!/usr/bin/env bash
# `just test-matrix [BACKEND=embedded|container|jvm|external|all] [IMAGE_SOURCE=auto|registry|local] [IMAGE_FLAVOR=apache|native|confluent]
#                   [KAFKA_VERSIONS=all|3.8|2.0..3.8] [BOOTSTRAP=list] [COMPOSE=emulated|kraft|zookeeper|tansu]
#                   [OUT=report dir, default target/kafka-matrix/report]`
# Maps KEY=VALUE arguments to the matrix command's environment, builds the
# static emulator binary when containers run on local images, and for the
# external backend without BOOTSTRAP uses the brokers compose/$COMPOSE.yml
# starts (`just up`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

for arg in "$@"; do
    case "$arg" in
        BACKEND=*) export KAFKA_MATRIX_BACKEND="${arg#*=}" ;;
        IMAGE_SOURCE=*) export KAFKA_MATRIX_IMAGE_SOURCE="${arg#*=}" ;;
        IMAGE_FLAVOR=*) export KAFKA_MATRIX_IMAGE_FLAVOR="${arg#*=}" ;;
        BOOTSTRAP=*) export KAFKA_MATRIX_BOOTSTRAP="${arg#*=}" ;;
        KAFKA_VERSIONS=* | RELEASES=*) export KAFKA_VERSIONS="${arg#*=}" ;;
        COMPOSE=*) COMPOSE="${arg#*=}" ;;
        OUT=*) OUT="${arg#*=}" ;;
        *) echo "test-matrix: unknown argument '$arg' (expected BACKEND=, IMAGE_SOURCE=, IMAGE_FLAVOR=, KAFKA_VERSIONS=, BOOTSTRAP=, COMPOSE=, OUT=)" >&2; exit 2 ;;
    esac
done
backend="${KAFKA_MATRIX_BACKEND:-embedded}"

cargo build --quiet --bin kafka-matrix
bin="$(cargo_target_dir)/debug/kafka-matrix"

if [[ "$backend" == container || "$backend" == all ]] && [[ "${KAFKA_MATRIX_IMAGE_SOURCE:-auto}" != registry ]] \
    && docker info >/dev/null 2>&1; then
    just static
fi
if [[ "$backend" == external && -z "${KAFKA_MATRIX_BOOTSTRAP:-}" ]]; then
    compose="${COMPOSE:-emulated}"
    KAFKA_MATRIX_BOOTSTRAP="$("$bin" compose "$compose" --bootstrap)"
    export KAFKA_MATRIX_BOOTSTRAP
    echo "no BOOTSTRAP given: using the brokers compose/$compose.yml starts (just up $compose)"
fi
exec "$bin" matrix --out "${OUT:-target/kafka-matrix/report}"
