#!/usr/bin/env python3
"""Where a standard run spends its time beyond the import floor, phase by phase.

    python3 benchmarks/breakdown.py [--runs 15] [--python PYTHON]

Each run is a fresh process that first imports the floor (click, jinja2,
lxml.etree), then times, in order: the core modules; the family table; and the
run itself through ``cli.main`` (argument parsing, metadata, lshw, model, hooks,
the one family it needs, stack detection, rendering, writing to a target that
already holds the files). It also lists every module outside packetnetworking
that the run imports beyond the floor: each one is start-up time to justify.
Minimums and medians over the runs are printed (the minimum is the least
disturbed by other load on the machine).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
import click, jinja2, lxml.etree
floor = set(sys.modules)
marks = [time.perf_counter()]
from packetnetworking import builder, cli, nics, target, templating, writer  # noqa: F401
marks.append(time.perf_counter())
import packetnetworking.distros  # noqa: F401
marks.append(time.perf_counter())
try:
    cli.main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
marks.append(time.perf_counter())
phases = [b - a for a, b in zip(marks, marks[1:])]
added = sorted(set(sys.modules) - floor)
print(json.dumps({"phases": phases,
                  "modules": sum(1 for m in added if m.startswith("packetnetworking")),
                  "others": [m for m in added if not m.startswith("packetnetworking")]}))
"""

PHASES = ["core modules (cli, source, metadata, model, builder, nics, writer, ...)",
          "packetnetworking.distros (the family table; no family yet)",
          "the run: arguments, inputs, model, the one family it needs, stack detection, "
          "render, write"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    subprocess.run([args.python, "-m", "compileall", "-q", str(REPO / "packetnetworking")],
                   check=True, stdout=subprocess.DEVNULL)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pn-breakdown-") as rootfs:
        cmd = [args.python, "-c", CHILD, "-M", str(REPO / "examples" / "metadata.json"),
               "--nics-file", str(REPO / "examples" / "lshw.xml"), "-o", "centos 7",
               "-t", rootfs, "-q"]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        for _ in range(args.runs + 1):
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO))
            if out.returncode:
                raise SystemExit(out.stderr)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = rows[1:]  # the first run writes the files and the template cache
    print(f"| phase (after the floor imports) | min ms | median ms |\n|---|---:|---:|")
    for i, name in enumerate(PHASES):
        values = [r["phases"][i] * 1000 for r in rows]
        print(f"| {name} | {min(values):.1f} | {statistics.median(values):.1f} |")
    totals = [sum(r["phases"]) * 1000 for r in rows]
    print(f"| **total beyond the floor** | {min(totals):.1f} | {statistics.median(totals):.1f} |")
    print(f"\n{rows[0]['modules']} packetnetworking modules imported; other modules beyond "
          f"the floor: {', '.join(rows[0]['others']) or 'none'}; {len(rows)} runs.")


if __name__ == "__main__":
    main()
