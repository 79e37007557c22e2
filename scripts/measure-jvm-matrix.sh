#!/usr/bin/env bash
# Runs `kafka-matrix matrix --backend jvm` (extra arguments passed on) and
# measures it: wall time, and the peak of the summed RSS of kafka-matrix and
# every JVM it started (found by their -Dkafka.matrix.owner=<pid> mark),
# sampled every 0.2 s. Then each broker's start-to-ready time, p50 and p90 by
# mode, from the report. Prints one summary block; the report is in --out.
#   scripts/measure-jvm-matrix.sh [--releases all] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
cargo build --quiet --bin kafka-matrix
bin="$(cargo_target_dir)/debug/kafka-matrix"
out=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[$i]} == --out ]] && out="${args[$((i + 1))]}"; done
[[ -n $out ]] || { out="target/kafka-matrix/report-jvm"; args+=(--out "$out"); }
mkdir -p "$(dirname "$out")"
start=$(date +%s.%N)
"$bin" matrix --backend jvm "${args[@]}" > "$out.log" 2>&1 &
pid=$!
peak=0
while kill -0 "$pid" 2>/dev/null; do
    total=$(awk '/VmRSS/ {s += $2} END {print s + 0}' "/proc/$pid/status" 2>/dev/null || echo 0)
    for p in $(grep -l -a -- "-Dkafka.matrix.owner=$pid" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${rss:-0}))
    done
    ((total > peak)) && peak=$total
    sleep 0.2
done
rc=0; wait "$pid" || rc=$?
end=$(date +%s.%N)
tail -n 1 "$out.log"
printf 'wall %.1f s, peak RSS (kafka-matrix + its JVMs) %.0f MiB, exit %d\n' "$(echo "$end - $start" | bc)" "$(echo "$peak / 1024" | bc -l)" "$rc"
python3 - "$out/report.json" <<'PY'
import json, sys, statistics
cells = json.load(open(sys.argv[1]))["cells"]
seen = {}
for c in cells:
    t = c["target"]
    if c.get("startup_ms") is not None:
        seen.setdefault((t["release"], t["mode"]), c["startup_ms"] / 1000)
for mode in ("zk", "kraft"):
    v = sorted(s for (r, m), s in seen.items() if m == mode)
    if v:
        p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
        print(f"{mode}: {len(v)} brokers, start-to-ready p50 {statistics.median(v):.1f} s, p90 {p(0.9):.1f} s, max {v[-1]:.1f} s")
PY
exit "$rc"
