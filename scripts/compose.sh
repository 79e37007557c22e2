#!/usr/bin/env bash
# `just up [FILE] [VERSION...]` / `just down [FILE]`: start or stop brokers from compose/FILE.yml.
# FILE is emulated (default), kraft, zookeeper or tansu; VERSIONs (e.g. 3.8) pick services
# (kafka-3-8, with its ZooKeeper in zookeeper.yml); none starts the whole file.
set -euo pipefail
cd "$(dirname "$0")/.."

action="$1"
shift
file=emulated
case "${1:-}" in
    emulated | kraft | zookeeper | tansu) file="$1"; shift ;;
esac
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    echo "no docker compose or docker-compose: install Docker's compose plugin or apt-get install docker-compose" >&2
    exit 1
fi
services=()
for v in "$@"; do
    if [[ ! "$v" =~ ^[0-9]+\.[0-9]+$ ]]; then
        echo "'$v' is not a release like 3.8 (or a file: emulated, kraft, zookeeper, tansu)" >&2
        exit 2
    fi
    service="kafka-${v/./-}"
    if ! grep -q "^  ${service}:" "compose/${file}.yml"; then
        echo "compose/${file}.yml has no Kafka ${v} (service ${service}); see kafka-matrix compose ${file} --bootstrap" >&2
        exit 2
    fi
    services+=("$service")
done
case "$action" in
    up)
        "${compose[@]}" -f "compose/${file}.yml" up -d "${services[@]}"
        list="$(cargo run --quiet -- compose "$file" --bootstrap)"
        if (($#)); then
            list="$(tr ',' '\n' <<<"$list" | grep -E "^($(IFS='|'; echo "${*//./\\.}"))/" | paste -sd, -)"
        fi
        echo "started; for the external backend: just test-matrix BACKEND=external BOOTSTRAP=$list"
        ;;
    down) "${compose[@]}" -f "compose/${file}.yml" down ;;
    *) echo "unknown action $action" >&2; exit 2 ;;
esac
