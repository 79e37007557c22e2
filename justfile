# kafka-matrix task runner. `just --list` shows every recipe.

# Format check, lints, and the whole test suite.
test:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo test --all-targets
