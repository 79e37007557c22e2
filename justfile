# kafka-matrix task runner. `just --list` shows every recipe.
# Recipes take their inputs from the environment too (KAFKA_VERSIONS, ...).

kafka_versions := env_var_or_default("KAFKA_VERSIONS", "all")
out := "target/kafka-matrix/report"
compose := `docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose`

# Format check, lints, and the whole test suite (what CI runs).
test:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace --all-targets

# The release matrix on the embedded emulator: a line per cell, a summary, report files.
test-matrix:
    cargo run --quiet -- matrix --releases "{{kafka_versions}}" --out {{out}}

# Run an emulated broker of one release on 127.0.0.1:9092 until Ctrl-C.
serve VERSION *ARGS:
    cargo run --quiet -- serve --kafka {{VERSION}} {{ARGS}}

# Negotiate with a broker and say what it is.
probe ADDR *ARGS:
    cargo run --quiet -- probe {{ADDR}} {{ARGS}}

# Real clients (kcat/librdkafka, kafka-python) against every emulated release.
interop:
    KAFKA_MATRIX_REQUIRE_INTEROP=1 cargo test --test interop -- --nocapture

# Build the emulator image FROM scratch from a static binary (no registry needed).
image:
    RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=target/static cargo build --release --target x86_64-unknown-linux-gnu --bin kafka-matrix
    docker build -f compose/Dockerfile.emulator -t kafka-matrix/emulated-kafka:local .

# Start the emulated fleet in compose/emulated.yml (host port 19000 + release, e.g. 19038 for 3.8).
up: image
    {{compose}} -f compose/emulated.yml up -d

# Stop the fleet.
down:
    {{compose}} -f compose/emulated.yml down

# criterion: every bench group over every release, tansu, rskafka and librdkafka beside ours (about 30 min); then `just bench-report`.
bench:
    cargo bench --bench negotiation

# The same with short times, 30 samples per id and no criterion plots (KAFKA_MATRIX_BENCH_RELEASES=2.0,3.8,4.3 to limit releases).
bench-quick:
    cargo bench --bench negotiation -- --warm-up-time 0.3 --measurement-time 0.6 --sample-size 30 --nresamples 20000 --noplot

# CI smoke: releases 2.0, 3.8, 4.3 (unless KAFKA_MATRIX_BENCH_RELEASES says otherwise), tansu required, shortest times, then the report.
bench-smoke:
    KAFKA_MATRIX_BENCH_RELEASES="${KAFKA_MATRIX_BENCH_RELEASES:-2.0,3.8,4.3}" KAFKA_MATRIX_BENCH_REQUIRE_TANSU=1 cargo bench --bench negotiation -- --warm-up-time 0.3 --measurement-time 0.5 --sample-size 20 --nresamples 10000 --noplot
    cargo run --quiet -p bench-report

# Report of the last bench run: target/kafka-matrix/bench/{report.md,report.json,latency.svg}; `--baseline NAME [--threshold PCT]` compares and fails on a regression.
bench-report *ARGS:
    cargo run --quiet -p bench-report -- {{ARGS}}

# Report the last bench run and save it as baseline NAME (target/kafka-matrix/bench/baselines/NAME.json).
bench-baseline NAME:
    cargo run --quiet -p bench-report -- --save-baseline {{NAME}}
