#!/usr/bin/env python3
"""Whole-process timings of packet-networking against the goals of issue 13.

    python3 benchmarks/run.py            # 21 timed rounds
    python3 benchmarks/run.py --runs 5   # a quick look

Goals (medians of wall time):

- the standard run (``examples/``: 2 NICs in a bond, lshw XML, CentOS 7) within
  1.5x the import floor ``python -c "import click, jinja2, lxml.etree"``, the
  imports this job cannot avoid;
- a server with 64 NICs in 32 bonds and 1,024 addresses (generated here) within
  2x the standard run.

Both runs write into a target that already holds their files, so the disk's
fsync time does not drown the differences. The commands are run in rounds, the
order rotating each round, so that load from other processes on a shared
machine falls on all of them alike. CPU time (user + system of the child) is
shown too: it is much less sensitive to that load.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FLOOR = "import click, jinja2, lxml.etree"
GOALS = {("standard", "floor"): 1.5, ("large", "standard"): 2.0}


def _mac(i):
    return f"b8:ce:f6:00:{i // 256:02x}:{i % 256:02x}"


def large_metadata(nics=64, addresses=1024):
    """``nics`` interfaces in bonds of two; the first three addresses are the management
    ones the tool configures, the others (elastic IPs, more ranges) are only validated."""
    addrs = [
        {"address_family": 4, "public": True, "management": True, "address": "198.51.100.11",
         "cidr": 31, "gateway": "198.51.100.10"},
        {"address_family": 6, "public": True, "management": True,
         "address": "2001:db8:4a:7f00::1", "cidr": 127, "gateway": "2001:db8:4a:7f00::"},
        {"address_family": 4, "public": False, "management": True, "address": "10.70.12.3",
         "cidr": 31, "gateway": "10.70.12.2"},
    ]
    for i in range(addresses - len(addrs)):
        if i % 2:
            addrs.append({"address_family": 6, "public": True, "address": f"2001:db8:100:{i:x}::1",
                          "cidr": 127, "gateway": f"2001:db8:100:{i:x}::"})
        else:
            addrs.append({"address_family": 4, "public": True,
                          "address": f"203.0.{i // 256}.{i % 256}", "cidr": 32})
    return {
        "hostname": "large-01.example.net", "plan": "n3.xlarge.x86",
        "operating_system": {"distro": "centos", "version": "7"},
        "network": {
            "bonding": {"mode": 4, "link_aggregation": "bonded"},
            "interfaces": [{"name": f"eth{i}", "mac": _mac(i), "bond": f"bond{i // 2}"}
                           for i in range(nics)],
            "addresses": addrs,
        },
    }


def large_lshw(nics=64):
    """``lshw -class network -xml`` output with ``nics`` ports, two per PCI card."""
    nodes = []
    for i in range(nics):
        bus, fn = 1 + i // 2, i % 2
        nodes.append(
            f'<node id="network:{i}" claimed="true" class="network">'
            f"<businfo>pci@0000:{bus:02x}:00.{fn}</businfo>"
            f"<logicalname>enp{bus}s0f{fn}</logicalname><serial>{_mac(i)}</serial>"
            '<configuration><setting id="driver" value="i40e" /></configuration></node>')
    return '<?xml version="1.0" standalone="yes" ?>\n<list>\n' + "\n".join(nodes) + "\n</list>\n"


def timed(cmd):
    """(wall seconds, CPU seconds) of one run of ``cmd``, which must succeed."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=REPO)  # -m runs this checkout
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}, Python "
            f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the "
            f"start; commit {commit}; {time.strftime('%Y-%m-%d')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed rounds (default 21)")
    args = parser.parse_args(argv)
    python = sys.executable
    # as pip would have done for an installed package: a run then reads module bytecode
    subprocess.run([python, "-m", "compileall", "-q", str(REPO / "packetnetworking")], check=True)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="pn-bench-") as work:
        work = Path(work)
        (work / "metadata.json").write_text(json.dumps(large_metadata()))
        (work / "lshw.xml").write_text(large_lshw())

        def tool(metadata, nics, target):
            (work / target).mkdir()
            return [python, "-m", "packetnetworking", "-M", str(metadata), "--nics-file",
                    str(nics), "-t", str(work / target), "-q", "--resolvers", "192.0.2.53"]

        commands = {
            "floor": [python, "-c", FLOOR],
            "standard": tool(EXAMPLES / "metadata.json", EXAMPLES / "lshw.xml", "standard"),
            "large": tool(work / "metadata.json", work / "lshw.xml", "large"),
        }
        for cmd in commands.values():  # warm-up; the tool's targets get their files
            timed(cmd)
        samples = {name: [] for name in commands}
        names = list(commands)
        for rnd in range(args.runs):
            for name in names[rnd % 3:] + names[:rnd % 3]:
                samples[name].append(timed(commands[name]))
    wall = {n: statistics.median(s[0] for s in runs) for n, runs in samples.items()}
    cpu = {n: statistics.median(s[1] for s in runs) for n, runs in samples.items()}
    print(f"\n{args.runs} rounds; medians\n")
    print("| command | wall ms | CPU ms |\n|---|---|---|")
    for name in commands:
        print(f"| {name} | {wall[name] * 1000:.0f} | {cpu[name] * 1000:.0f} |")
    print("\n| goal | wall | CPU | met (wall) |\n|---|---|---|---|")
    met = True
    for (a, b), limit in GOALS.items():
        ratio = wall[a] / wall[b]
        met &= ratio <= limit
        print(f"| {a} / {b} <= {limit}x | {ratio:.2f}x | {cpu[a] / cpu[b]:.2f}x "
              f"| {'yes' if ratio <= limit else 'NO'} |")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
