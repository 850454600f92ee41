#!/usr/bin/env python3
"""Where a standard run spends its time beyond the import floor, phase by phase.

    python3 benchmarks/breakdown.py [--runs 15] [--python PYTHON]

Each run is a fresh process that first imports the floor (click, jinja2,
lxml.etree), then times, in order: logging; the core modules; the built-in
families; and the run itself through ``cli.main`` (argument parsing, metadata,
lshw, model, hooks, stack detection, rendering, writing to a target that
already holds the files). Dataclass creation is timed across all of it, if
the run imports ``dataclasses`` at all (the package itself uses records since
issue 7; the import then counts in the phase that makes it, as in a real run).
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
import importlib.util, json, sys, time
import click, jinja2, lxml.etree
created = [0.0, 0]
def _time_creation(dataclasses):
    process_class = dataclasses._process_class
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return process_class(*args, **kwargs)
        finally:
            created[0] += time.perf_counter() - start
            created[1] += 1
    dataclasses._process_class = timed
class DataclassesWatch:
    # wraps dataclasses._process_class when something imports dataclasses, not before
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "dataclasses":
            return None
        sys.meta_path.remove(cls)
        spec = importlib.util.find_spec(name)
        exec_module = spec.loader.exec_module
        def exec_and_time(module):
            exec_module(module)
            _time_creation(module)
        spec.loader.exec_module = exec_and_time
        return spec
assert "dataclasses" not in sys.modules
sys.meta_path.insert(0, DataclassesWatch)
marks = [time.perf_counter()]
import logging
marks.append(time.perf_counter())
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
print(json.dumps({"phases": phases, "dataclasses": created[0], "dataclass_count": created[1],
                  "dataclasses_imported": "dataclasses" in sys.modules,
                  "modules": sum(1 for m in sys.modules if m.startswith("packetnetworking"))}))
"""

PHASES = ["logging", "core modules (cli, source, metadata, model, builder, nics, writer, ...)",
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
    values = [r["dataclasses"] * 1000 for r in rows]
    print(f"| of which: creating {rows[0]['dataclass_count']} dataclasses (all phases) "
          f"| {min(values):.1f} | {statistics.median(values):.1f} |")
    print(f"\n{rows[0]['modules']} packetnetworking modules imported; dataclasses "
          f"{'imported' if rows[0]['dataclasses_imported'] else 'not imported'}; "
          f"{len(rows)} runs.")


if __name__ == "__main__":
    main()
