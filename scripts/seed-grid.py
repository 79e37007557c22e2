#!/usr/bin/env python3
"""Prints the seed case's grid (README) from a matrix report.json of
`matrix --client franz-go-1.19.0,franz-go-1.19.1 --backend embedded,jvm`:
one row per run of release/mode pairs that answer alike, each client's verdict on the emulator and on real Kafka.

    python3 scripts/seed-grid.py target/kafka-matrix/seed/report.json
"""
import json
import sys

CLIENTS = ["franz-go-1.19.0", "franz-go-1.19.1"]
BACKENDS = [("embedded", "emulated"), ("jvm", "real Kafka")]


def mark(cell):
    if cell is None:
        return "-"
    ok = cell["passed"] != bool(cell.get("expected_failure"))
    return "ok" if ok else "**fails**"


def main(path):
    report = json.load(open(path))
    rows = {}
    for c in report["cells"]:
        t = c["target"]
        if c.get("client") not in CLIENTS or "release" not in t:
            continue
        rows.setdefault((t["release"], t["mode"]), {})[(c["client"], c["backend"])] = c
    head = ["release"] + [f"{c.removeprefix('franz-go-')} {label}" for c in CLIENTS for _, label in BACKENDS]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    # Consecutive releases of one mode with the same marks share a row.
    runs = []
    for mode in ("zk", "kraft"):
        for (release, m), cells in rows.items():
            if m != mode:
                continue
            marks = [mark(cells.get((c, b))) for c in CLIENTS for b, _ in BACKENDS]
            if runs and runs[-1][0] == mode and runs[-1][3] == marks:
                runs[-1][2] = release
            else:
                runs.append([mode, release, release, marks])
    for mode, first, last, marks in runs:
        span = first if first == last else f"{first}–{last}"
        print(f"| {span} {mode} | " + " | ".join(marks) + " |")
    agree = len(report.get("disagreements", [])) == 0
    print(
        f"\n{report['passed']} of {len(report['cells'])} cells as expected; "
        f"real and emulated {'agree in every row' if agree else 'DISAGREE: see the report'}."
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/kafka-matrix/seed/report.json")
