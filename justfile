# kafka-matrix task runner. `just --list` shows every recipe.
# Recipes take their inputs from the environment too (KAFKA_VERSIONS, ...).

kafka_versions := env_var_or_default("KAFKA_VERSIONS", "all")
out := "target/kafka-matrix/report"
compose := `docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose`

# Format check, lints, and the whole test suite (what CI runs).
test:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo test --all-targets

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

# criterion: negotiation latency per release, our client beside a raw TCP floor (about 20 min).
bench:
    cargo bench --bench negotiation

# The same with short warm-up/measurement times (KAFKA_MATRIX_BENCH_RELEASES=2.0,3.8,4.3 to limit releases).
bench-quick:
    cargo bench --bench negotiation -- --quick --warm-up-time 1 --measurement-time 1

# Fuzz every decoder: 1,000,000 proptest cases each in release mode (FUZZ_CASES=N to change), then the heap-budget check.
fuzz:
    PROPTEST_CASES=${FUZZ_CASES:-1000000} cargo test --release --test protocol_fuzz --test protocol_alloc -- --nocapture

# The emulator under load and abuse at 5x the default test: 5,000 clients plus 200 abusers, release mode (LOAD_CLIENTS=N to change).
load:
    LOAD_CLIENTS=${LOAD_CLIENTS:-5000} cargo test --release --test emulator_load -- --nocapture
