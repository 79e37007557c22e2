# kafka-matrix task runner. `just --list` shows every recipe.
# Recipes take their inputs from the environment too (KAFKA_VERSIONS, ...).

kafka_versions := env_var_or_default("KAFKA_VERSIONS", "all")
out := "target/kafka-matrix/report"

# Format check, lints, the layer check (no module uses one above it), the whole test suite,
# and the matrix on every backend (what CI runs).
# Container parts skip loudly without Docker (fail instead with KAFKA_MATRIX_REQUIRE_DOCKER=1).
test:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --no-default-features --lib --bins -- -D warnings
    bash scripts/module-graph.sh > /dev/null
    cargo test --workspace --all-targets
    bash scripts/test-matrix.sh BACKEND=all IMAGE_SOURCE=local
    just interop-corpus

# The release matrix: a line per cell, a summary, report files in target/kafka-matrix/report.
# Default: the embedded emulator. `just test-matrix BACKEND=jvm` (real Kafka from its jars),
# `just test-matrix BACKEND=container IMAGE_SOURCE=local`,
# `BACKEND=external [BOOTSTRAP=3.8=host:port,...]`, `BACKEND=all`, `KAFKA_VERSIONS=2.0..3.8`.
test-matrix *ARGS:
    bash scripts/test-matrix.sh {{ARGS}}

# Every client of the interop corpus (clients/) lists metadata from every emulated release: the
# compatibility grid in target/kafka-matrix/corpus/report.md. A client that is not installed fails
# under CI (`bash scripts/install-clients.sh` installs them); `--client list` shows them.
interop-corpus *ARGS:
    cargo run --quiet -- matrix --client all --jobs 2 --out target/kafka-matrix/corpus {{ARGS}}

# The seed case (README): franz-go v1.19.0 and v1.19.1 on every release, real broker (jvm) beside
# its emulated twin, one grid in target/kafka-matrix/seed/report.md, and the README's table.
seed *ARGS:
    cargo run --quiet -- matrix --client franz-go-1.19.0,franz-go-1.19.1 --backend embedded,jvm --jobs 2 --out target/kafka-matrix/seed {{ARGS}}
    python3 scripts/seed-grid.py target/kafka-matrix/seed/report.json

# Run an emulated broker of one release on 127.0.0.1:9092 until Ctrl-C.
serve VERSION *ARGS:
    cargo run --quiet -- serve --kafka {{VERSION}} {{ARGS}}

# Run the real broker of one release (Kafka's own jars from Maven Central, a local JVM, no Docker)
# on 127.0.0.1:9092 until Ctrl-C: `just serve-real 3.8`, `just serve-real 3.8 --mode kraft`.
serve-real VERSION *ARGS:
    cargo run --quiet -- serve --real --kafka {{VERSION}} {{ARGS}}

# Fill the JVM backend's jar cache from Maven Central (every release, or --releases 3.8,4.4); runs then need no network.
fetch *ARGS:
    cargo run --quiet -- fetch {{ARGS}}

# Negotiate with a broker and say what it is.
probe ADDR *ARGS:
    cargo run --quiet -- probe {{ADDR}} {{ARGS}}

# Real clients (kcat/librdkafka, kafka-python) against every emulated release.
interop:
    KAFKA_MATRIX_REQUIRE_INTEROP=1 cargo test --test interop -- --nocapture

# The statically linked emulator that the FROM-scratch images copy.
static:
    RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --release --no-default-features --target x86_64-unknown-linux-gnu --target-dir target/static --bin kafka-matrix

# Build the local images: kafka-matrix/emulated-kafka:<release> for every release, and tansu (no registry needed).
image: static
    cargo run --quiet -- images

# Start brokers from compose/FILE.yml: `just up` (every emulated release), `just up 3.8`, `just up kraft 3.8 4.0`.
up *ARGS:
    bash scripts/compose.sh up {{ARGS}}

# Stop them: `just down`, `just down kraft`.
down *ARGS:
    bash scripts/compose.sh down {{ARGS}}

# Regenerate compose/*.yml from the container backend's plans.
compose-files:
    for f in kraft zookeeper emulated tansu; do cargo run --quiet -- compose $f > compose/$f.yml; done

# The two librdkafka builds are workspaces of their own (docs/decisions.md); the bundled one takes minutes the first time.

# Build the bench's peer processes into target/release: bench-peer (rskafka), librdkafka system and bundled.
# The bundled one builds in the interop corpus's target directory ($KAFKA_MATRIX_CLIENTS_OUT, default
# target/clients), pinned and profiled as clients/rust, so the corpus's librdkafka 2.12.1 build is reused.
bench-peers:
    #!/usr/bin/env bash
    set -euo pipefail
    source scripts/lib.sh
    target="$(cargo_target_dir)"
    clients_out="${KAFKA_MATRIX_CLIENTS_OUT:-$PWD/target/clients}"
    cargo build --quiet --release -p bench-peer
    cargo build --quiet --release --manifest-path tools/peer-librdkafka/system/Cargo.toml --target-dir "$target"
    cargo build --quiet --release --locked --manifest-path tools/peer-librdkafka/bundled/Cargo.toml --target-dir "$clients_out"
    cp -f "$clients_out/release/peer-librdkafka-bundled" "$target/release/peer-librdkafka-bundled"

# Every release, tansu and every peer, 1000 paired rounds per group and broker, criterion's default times, then the report.
bench: bench-peers
    KAFKA_MATRIX_BENCH_PROFILE=full KAFKA_MATRIX_BENCH_REQUIRE_PEERS=1 cargo bench --bench negotiation
    cargo run --quiet --release -p bench-report

# Run it twice: the second report prints how far every ratio moved since the previous run.

# The same with 150 paired rounds and short criterion times, then the report (KAFKA_MATRIX_BENCH_RELEASES=2.0,3.8 to limit).
bench-quick: bench-peers
    KAFKA_MATRIX_BENCH_PROFILE=quick KAFKA_MATRIX_BENCH_REQUIRE_PEERS=1 cargo bench --bench negotiation -- --warm-up-time 0.3 --measurement-time 0.6 --sample-size 30 --nresamples 20000 --noplot
    cargo run --quiet --release -p bench-report

# CI smoke: releases 2.0, 3.8, 4.3 (or KAFKA_MATRIX_BENCH_RELEASES), tansu and every peer required, 20 rounds, then the report.
bench-smoke: bench-peers
    KAFKA_MATRIX_BENCH_RELEASES="${KAFKA_MATRIX_BENCH_RELEASES:-2.0,3.8,4.3}" KAFKA_MATRIX_BENCH_REQUIRE_TANSU=1 KAFKA_MATRIX_BENCH_REQUIRE_PEERS=1 KAFKA_MATRIX_BENCH_PROFILE=smoke cargo bench --bench negotiation -- --warm-up-time 0.3 --measurement-time 0.5 --sample-size 20 --nresamples 10000 --noplot
    cargo run --quiet --release -p bench-report

# `--require-agreement [--agree PCT]` fails when a ratio moved by more since the previous run.
# `--baseline NAME [--threshold PCT]` compares ratios (absolute times on the same machine only), draws baseline.svg, fails on a regression.

# Report of the last bench run (target/kafka-matrix/bench/report.md, report.json, latency.svg) and its agreement with the previous run.
bench-report *ARGS:
    cargo run --quiet --release -p bench-report -- {{ARGS}}

# Report the last bench run and save it as baseline NAME (target/kafka-matrix/bench/baselines/NAME.json).
bench-baseline NAME:
    cargo run --quiet --release -p bench-report -- --save-baseline {{NAME}}

# Fuzz every decoder: 1,000,000 proptest cases each in release mode (FUZZ_CASES=N to change), then the heap-budget check.
fuzz:
    PROPTEST_CASES=${FUZZ_CASES:-1000000} cargo test --release --test protocol_fuzz --test protocol_alloc -- --nocapture

# Soak and abuse (release mode): every row of docs/robustness.md replayed against a `kafka-matrix serve`
# child, each figure printed beside its target (100 MiB requests, 5,000 idle connections; ~3 min + build).
soak:
    ulimit -n $(ulimit -Hn) && SOAK_FULL=1 cargo test --release --test emulator_soak -- --nocapture --test-threads=1

# The emulator under load and abuse at 5x the default test: 5,000 clients plus 200 abusers, release mode (LOAD_CLIENTS=N to change).
load:
    LOAD_CLIENTS=${LOAD_CLIENTS:-5000} cargo test --release --test emulator_load -- --nocapture
