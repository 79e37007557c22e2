# Shared by the install scripts (source it): one way to install from Debian and PyPI.

PYTHON="${KAFKA_MATRIX_PYTHON:-python3}"

# apt_install PKG...: as root or through sudo, non-interactive; the package
# lists are refreshed first, since an install before any update may find nothing.
apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "$@"
}

# pip_install SPEC...: into the Python the tests use ($KAFKA_MATRIX_PYTHON, default python3).
pip_install() {
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "$@"
}

# cargo_target_dir: where cargo puts build output ($CARGO_TARGET_DIR, a
# config file's build.target-dir, or ./target), as cargo itself reports it.
cargo_target_dir() {
    cargo metadata --format-version 1 --no-deps \
        | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}
