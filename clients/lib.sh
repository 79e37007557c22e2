# Sourced by clients/*/run and clients/list (POSIX sh). The caller sets $here to its own directory.
#
# Where the installed clients live (built binaries, Python virtualenvs, Go binaries):
#   $KAFKA_MATRIX_CLIENTS_OUT, else <repo>/target/clients (what scripts/install-clients.sh fills).
# Rust binaries are also looked up under $CARGO_TARGET_DIR/release when that is set.

clients_root=$(cd "$here/.." && pwd)
repo=$(cd "$clients_root/.." && pwd)
CLIENTS_OUT=${KAFKA_MATRIX_CLIENTS_OUT:-$repo/target/clients}
# Hard limit for one probe, on top of each client's own timeouts (~15-20 s).
CLIENT_DEADLINE=${KAFKA_MATRIX_CLIENT_DEADLINE:-25}

# not_installed NAME [NOTE]: the --version / run answer when the client is missing (exit 3),
# or, when scripts/install-clients.sh found it cannot be installed on this machine (say, its
# registry is unreachable), that reason (exit 4: the matrix lists it as not run, even under CI).
not_installed() {
    if [ -f "$CLIENTS_OUT/unavailable/$1" ]; then
        echo "unavailable here: $(cat "$CLIENTS_OUT/unavailable/$1")" >&2
        exit 4
    fi
    echo "not installed: bash scripts/install-clients.sh $1${2:+ ($2)}" >&2
    exit 3
}

# venv_python NAME: the interpreter of the client's own virtualenv, if installed.
venv_python() {
    if [ -x "$CLIENTS_OUT/venv/$1/bin/python" ]; then
        echo "$CLIENTS_OUT/venv/$1/bin/python"
    else
        return 1
    fi
}

# find_bin NAME: a built client binary (Rust: target/clients/release, Go: target/clients/go-bin).
find_bin() {
    for d in "$CLIENTS_OUT/release" "$CLIENTS_OUT/go-bin" ${CARGO_TARGET_DIR:+"$CARGO_TARGET_DIR/release"}; do
        if [ -x "$d/$1" ]; then
            echo "$d/$1"
            return 0
        fi
    done
    return 1
}

# bounded NAME CMD...: run a probe under a hard deadline. On success its stdout (and stderr)
# pass through and the exit code is 0. On failure exactly one line goes to stderr (the
# probe's last stderr line, or why it was stopped) and the exit code is 1.
# CLIENT_DEBUG=1 passes everything through unfiltered.
bounded() {
    _name=$1
    shift
    if [ -n "${CLIENT_DEBUG:-}" ]; then
        timeout -k 3 "$CLIENT_DEADLINE" "$@"
        return $?
    fi
    _err=$(mktemp "${TMPDIR:-/tmp}/client-$_name.XXXXXX")
    timeout -k 3 "$CLIENT_DEADLINE" "$@" 2>"$_err"
    _rc=$?
    if [ "$_rc" -eq 0 ]; then
        cat "$_err" >&2
        rm -f "$_err"
        return 0
    fi
    _line=$(grep -v '^[[:space:]]*$' "$_err" | tail -n 1)
    rm -f "$_err"
    case $_rc in
        124 | 137) echo "$_name: killed after ${CLIENT_DEADLINE} s (no answer within the client's own timeouts)" >&2 ;;
        *) if [ -n "$_line" ]; then echo "$_line" >&2; else echo "$_name: exited with code $_rc and no message" >&2; fi ;;
    esac
    return 1
}
