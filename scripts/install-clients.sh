#!/usr/bin/env bash
# Installs the interop client corpus (clients/, docs/research/interop-corpus.md): real,
# independently written Kafka clients, each behind clients/<name>/run.
#
#   bash scripts/install-clients.sh            # every client
#   bash scripts/install-clients.sh kcat rskafka
#
# Pinned versions (see the table below). Idempotent: what is present at its pin is left alone.
# Output goes to $KAFKA_MATRIX_CLIENTS_OUT (default <repo>/target/clients): Python virtualenvs
# in venv/<name>, Rust binaries in release/ (its own cargo workspace, clients/rust), Go binaries
# in go-bin/. Each step prints its time. A client that cannot be had on this machine is
# reported and skipped (exit 0); a step that should work and fails stops the script (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source scripts/lib.sh

OUT=${KAFKA_MATRIX_CLIENTS_OUT:-$repo/target/clients}

# ---- pins -------------------------------------------------------------------------------
CONFLUENT_KAFKA=2.16.1   # PyPI confluent-kafka (wheel bundles librdkafka 2.16.0)
KAFKA_PYTHON=3.0.12      # PyPI kafka-python
KAFKA_PYTHON_NG=2.2.3    # PyPI kafka-python-ng (fork of kafka-python 2.0.2; installs the same `kafka` package)
AIOKAFKA=0.14.0          # PyPI aiokafka
# Rust (clients/rust/*/Cargo.toml, clients/rust/Cargo.lock): rdkafka =0.39.0 (rdkafka-sys 4.10.0+2.12.1,
# bundled librdkafka), rskafka =0.6.0, kafka =0.10.0.
# Go, modules (clients/go/mod/go.mod): franz-go v1.18.1, sarama v1.46.0, kafka-go v0.4.50: the
# newest that build with Go 1.23.5 (GOTOOLCHAIN=local); need the Go module proxy.
# Go, pinned releases (clients/go/<name>: a module each, own go.mod and committed go.sum, built
# with -mod=readonly; main.go a symlink to clients/go/mod/franz-go/main.go): franz-go-1.19.0 and
# franz-go-1.19.1 (kmsg v1.11.2), the seed case (twmb/franz-go#1010, fix #1011). franz-go v1.19
# needs go >= 1.23.8, newer than Debian's golang-1.23-go (1.23.5): a Go from go.dev on PATH or in
# /usr/local/go.
# Go, Debian (clients/go/debian): sarama 1.22.1 and kafka-go 0.2.1 from Debian bookworm's
# golang-*-dev packages, GOPATH mode.
GO_DEBIAN_PKG=golang-1.23-go   # bookworm-backports
GO_MIN_LOCAL=1.19              # bookworm main's golang-go suffices for the Debian builds
GO_MIN_PINNED=1.23.8           # franz-go v1.19's go.mod

ALL=(confluent-kafka kafka-python kafka-python-ng aiokafka kcat rdkafka rskafka kafka-rust
    franz-go sarama kafka-go franz-go-1.19.0 franz-go-1.19.1 sarama-debian kafka-go-debian)

# ---- timing -----------------------------------------------------------------------------
t_all=$(date +%s)
step_start() { t_step=$(date +%s); echo "== $1"; }
step_end() { echo "   $1 ($(($(date +%s) - t_step)) s)"; }

# ---- Python: one virtualenv per client (kafka-python and kafka-python-ng both install `kafka`)
install_python() { # NAME DIST VERSION IMPORT
    local name=$1 dist=$2 version=$3 module=$4 venv="$OUT/venv/$1" have
    step_start "$name $version (PyPI, virtualenv $venv)"
    have=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$dist'))" 2>/dev/null || true)
    if [ "$have" = "$version" ]; then
        step_end "present"
        return
    fi
    mkdir -p "$OUT/venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$dist==$version"
    "$venv/bin/python" -c "import $module" || { echo "$name: import $module failed" >&2; exit 1; }
    step_end "installed"
}

# ---- kcat (Debian) ------------------------------------------------------------------------
install_kcat() {
    step_start "kcat (Debian bookworm: 1.7.1 on the system librdkafka 2.0.2)"
    if command -v kcat >/dev/null 2>&1; then
        step_end "present: $(kcat -V 2>&1 | grep -m1 '^Version' || true)"
        return
    fi
    apt_install kcat
    step_end "installed"
}

# ---- Rust: one standalone cargo workspace, clients/rust ------------------------------------
rust_done=""
install_rust() { # NAME...
    local pkgs=() n
    for n in "$@"; do
        case $n in
            rdkafka) pkgs+=(-p rdkafka-list) ;;
            rskafka) pkgs+=(-p rskafka-list) ;;
            kafka-rust) pkgs+=(-p kafka-rust-list) ;;
        esac
    done
    step_start "Rust clients: $* (cargo, clients/rust, target $OUT)"
    # rdkafka-sys builds its bundled librdkafka with librdkafka's own configure + make.
    command -v make >/dev/null 2>&1 || apt_install make
    (cd clients/rust && nice -n 10 env CARGO_TARGET_DIR="$OUT" cargo build --release --locked "${pkgs[@]}")
    step_end "built"
}

# ---- Go -----------------------------------------------------------------------------------
GO=""
go_version_ok() { # GO_BINARY MIN(1.x)
    local v
    v=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
    [ "$(printf '%s\n%s\n' "$2" "$v" | sort -V | head -n 1)" = "$2" ]
}

# find_go MIN: a Go toolchain >= MIN (Debian's 1.23 first, then the `go` on PATH, then a go.dev
# install in /usr/local/go, then Debian's 1.19), installing Debian's newest (1.23 from
# bookworm-backports) when none is found. Sets GO.
find_go() {
    local min=$1 g
    for g in /usr/lib/go-1.23/bin/go "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go \
        /usr/lib/go-1.19/bin/go; do
        if [ -n "$g" ] && [ -x "$g" ] && go_version_ok "$g" "$min"; then
            GO=$g
            return 0
        fi
    done
    if ! apt-cache policy "$GO_DEBIAN_PKG" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        if grep -qs 'VERSION_CODENAME=bookworm' /etc/os-release \
            && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
            echo "   adding Debian bookworm-backports (for $GO_DEBIAN_PKG)"
            local sudo=""
            [ "$(id -u)" -eq 0 ] || sudo=sudo
            printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
                'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
                | $sudo tee /etc/apt/sources.list.d/kafka-matrix-backports.sources >/dev/null
        fi
    fi
    if apt_install "$GO_DEBIAN_PKG" >/dev/null 2>&1 && go_version_ok /usr/lib/go-1.23/bin/go "$min"; then
        GO=/usr/lib/go-1.23/bin/go
        return 0
    fi
    if [ "$min" = "$GO_MIN_LOCAL" ] && apt_install golang-go >/dev/null 2>&1 && go_version_ok /usr/lib/go-1.19/bin/go "$min"; then
        GO=/usr/lib/go-1.19/bin/go
        return 0
    fi
    return 1
}

install_go_debian() { # NAME...
    local n
    step_start "Go clients from Debian packages: $* (GOPATH mode)"
    if ! find_go "$GO_MIN_LOCAL"; then
        echo "   SKIPPED: no Go toolchain could be installed from Debian (golang-go / $GO_DEBIAN_PKG)"
        return
    fi
    apt_install golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev >/dev/null
    mkdir -p "$OUT/go-bin" "$OUT/go-cache"
    for n in "$@"; do
        rm -f "$OUT/go-bin/$n"
        (cd clients/go/debian && GOTOOLCHAIN=local GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
            GOCACHE="$OUT/go-cache" nice -n 10 "$GO" build -o "$OUT/go-bin/$n" "./${n%-debian}" 2>&1 \
            | grep -v -e 'ZSTD_getDecompressedSize' -e 'cgo-gcc-prolog' -e 'zstd' -e '^ *[0-9]* |' -e '^ *|' || true)
        [ -x "$OUT/go-bin/$n" ] || { echo "$n: go build failed" >&2; exit 1; }
    done
    step_end "built with $("$GO" env GOVERSION)"
}

install_go_modules() { # NAME...
    local n
    step_start "Go clients from the Go module proxy: $* (clients/go/mod)"
    if ! find_go 1.23; then
        echo "   SKIPPED: no Go >= 1.23 from Debian (needs $GO_DEBIAN_PKG from bookworm-backports)"
        return
    fi
    # A client that cannot be installed on this machine is marked unavailable (its `run`
    # exits 4: the matrix lists it as not run, also under CI); a marker goes once it installs.
    mkdir -p "$OUT/unavailable"
    export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOCACHE="$OUT/go-cache" GOPATH="$OUT/gopath"
    mkdir -p "$OUT/go-bin"
    if ! (cd clients/go/mod && timeout 300 "$GO" mod download >/dev/null 2>"$OUT/go-mod-download.err"); then
        local why
        why="the Go module proxy ($("$GO" env GOPROXY)) did not serve the modules: $(grep -v '^\s*$' "$OUT/go-mod-download.err" | tail -n 1)"
        echo "   SKIPPED: $why"
        for n in "$@"; do echo "$why" >"$OUT/unavailable/$n"; done
        return
    fi
    for n in "$@"; do
        (cd clients/go/mod && nice -n 10 "$GO" build -o "$OUT/go-bin/$n" "./$n")
        rm -f "$OUT/unavailable/$n"
    done
    step_end "built with $("$GO" env GOVERSION)"
}

# One module per pinned release (clients/go/<name>), the go.sum committed: -mod=readonly, so
# a go.sum that does not match what the proxy serves stops the build.
install_go_pinned() { # NAME...
    local n why
    step_start "Go clients pinned to one release each: $* (clients/go/<name>)"
    if ! find_go "$GO_MIN_PINNED"; then
        echo "   SKIPPED: no Go >= $GO_MIN_PINNED (Debian's $GO_DEBIAN_PKG is 1.23.5: install a newer Go from go.dev)"
        return
    fi
    mkdir -p "$OUT/unavailable" "$OUT/go-bin"
    export GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOCACHE="$OUT/go-cache" GOPATH="$OUT/gopath"
    for n in "$@"; do
        if ! (cd "clients/go/$n" && timeout 300 "$GO" mod download >/dev/null 2>"$OUT/go-mod-download.err"); then
            why="the Go module proxy ($("$GO" env GOPROXY)) did not serve the modules: $(grep -v '^\s*$' "$OUT/go-mod-download.err" | tail -n 1)"
            echo "   SKIPPED $n: $why"
            echo "$why" >"$OUT/unavailable/$n"
            continue
        fi
        (cd "clients/go/$n" && nice -n 10 "$GO" build -o "$OUT/go-bin/$n" .)
        rm -f "$OUT/unavailable/$n"
    done
    step_end "built with $("$GO" env GOVERSION)"
}

# ---- main ---------------------------------------------------------------------------------
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${ALL[@]}")
rust=() go_mod=() go_pin=() go_deb=()
for name in "${want[@]}"; do
    case $name in
        confluent-kafka) install_python confluent-kafka confluent-kafka "$CONFLUENT_KAFKA" confluent_kafka ;;
        kafka-python) install_python kafka-python kafka-python "$KAFKA_PYTHON" kafka ;;
        kafka-python-ng) install_python kafka-python-ng kafka-python-ng "$KAFKA_PYTHON_NG" kafka ;;
        aiokafka) install_python aiokafka aiokafka "$AIOKAFKA" aiokafka ;;
        kcat) install_kcat ;;
        rdkafka | rskafka | kafka-rust) rust+=("$name") ;;
        franz-go | sarama | kafka-go) go_mod+=("$name") ;;
        franz-go-1.19.0 | franz-go-1.19.1) go_pin+=("$name") ;;
        sarama-debian | kafka-go-debian) go_deb+=("$name") ;;
        *)
            echo "unknown client: $name (known: ${ALL[*]})" >&2
            exit 1
            ;;
    esac
done
[ ${#rust[@]} -eq 0 ] || install_rust "${rust[@]}"
[ ${#go_deb[@]} -eq 0 ] || install_go_debian "${go_deb[@]}"
[ ${#go_mod[@]} -eq 0 ] || install_go_modules "${go_mod[@]}"
[ ${#go_pin[@]} -eq 0 ] || install_go_pinned "${go_pin[@]}"

echo "== done in $(($(date +%s) - t_all)) s"
sh clients/list
