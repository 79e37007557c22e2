# kafka-matrix task runner. `just --list` shows every recipe.
# Recipes take their inputs from the environment too (KAFKA_VERSIONS, ...).

kafka_versions := env_var_or_default("KAFKA_VERSIONS", "all")
out := "target/kafka-matrix/report"
compose := `docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose`

# Format check, lints, the whole test suite, and the matrix on every backend (what CI runs).
# Container parts skip loudly without Docker (fail instead with KAFKA_MATRIX_REQUIRE_DOCKER=1).
test:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo clippy --no-default-features --lib --bins -- -D warnings
    cargo test --all-targets
    bash scripts/test-matrix.sh BACKEND=all IMAGE_SOURCE=local

# The release matrix: a line per cell, a summary, report files in target/kafka-matrix/report.
# Default: the embedded emulator. `just test-matrix BACKEND=container IMAGE_SOURCE=local`,
# `BACKEND=external [BOOTSTRAP=3.8=host:port,...]`, `BACKEND=all`, `KAFKA_VERSIONS=2.0..3.8`.
test-matrix *ARGS:
    bash scripts/test-matrix.sh {{ARGS}}

# Run an emulated broker of one release on 127.0.0.1:9092 until Ctrl-C.
serve VERSION *ARGS:
    cargo run --quiet -- serve --kafka {{VERSION}} {{ARGS}}

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

# Start a compose file's brokers (emulated, kraft, zookeeper, tansu), or some of them: `just up emulated kafka-3-8`.
up FILE="emulated" *SERVICES:
    {{compose}} -f compose/{{FILE}}.yml up -d {{SERVICES}}

# Stop them.
down FILE="emulated":
    {{compose}} -f compose/{{FILE}}.yml down

# Regenerate compose/*.yml from the container backend's plans.
compose-files:
    for f in kraft zookeeper emulated tansu; do cargo run --quiet -- compose $f > compose/$f.yml; done

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
