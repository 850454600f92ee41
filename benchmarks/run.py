#!/usr/bin/env python3
"""Whole-process benchmarks of packet-networking, side by side with the import floor.

Run from the repository root (standard library only, plus the project's own
dependencies):

    python3 benchmarks/run.py                 # full run: ~2-3 minutes on 2 cores
    python3 benchmarks/run.py --quick         # smoke run: ~30 s
    python3 benchmarks/run.py --json benchmarks/results/run.json

What it measures (see docs/performance.md for the results and how to read them):

- whole-process time of the standard run (``-M examples/metadata.json
  --nics-file examples/lshw.xml -o 'centos 7' -t DIR -q``) against the floor
  ``python -c "import click, jinja2, lxml.etree"`` (the imports this job
  cannot avoid) and against a bare ``python -c pass``;
- the same with 64 NICs in 32 bonds and 1,024 addresses (generated here)
  against the 2-NIC case;
- both on a target that already holds the files (a rerun: nothing to write)
  and on a fresh empty target (every file written and fsynced);
- peak memory (max RSS of each child, from ``wait4``);
- time to success when a local metadata server fails the first 3 requests
  with 503, and time until the tool gives up on a server that accepts the
  connection and never answers (``-n 1`` and ``-n 2``), or that sends the
  headers and then stalls.

Commands are run N times each, interleaved (the order rotates every round) so
that load from other processes on a shared machine hits them all alike;
medians, minimums and the ratios between them are reported, for wall time and
for CPU time (user + system of the child, far less sensitive to other load).
"""
import argparse
import http.server
import json
import os
import platform
import select
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLOOR_IMPORTS = "import click, jinja2, lxml.etree"

GOAL_STANDARD_VS_FLOOR = 1.15
GOAL_SCALE_VS_STANDARD = 2.0
GOAL_RECOVERY_SECONDS = 10.0


# --------------------------------------------------------------------------- inputs

def _mac(i):
    return f"b8:ce:f6:00:{i // 256:02x}:{i % 256:02x}"


def scale_metadata(nics=64, addresses=1024):
    """Metadata with ``nics`` interfaces in bonds of two (bond0..) and ``addresses`` addresses.

    The model configures only the first public IPv4, public IPv6 and private
    IPv4 management addresses; the others (elastic IPs, more private ranges)
    are parsed and validated but not written, as in real metadata.
    """
    interfaces = [{"name": f"eth{i}", "mac": _mac(i), "bond": f"bond{i // 2}"}
                  for i in range(nics)]
    addrs = [
        {"address_family": 4, "public": True, "management": True, "enabled": True,
         "address": "198.51.100.11", "netmask": "255.255.255.254", "cidr": 31,
         "network": "198.51.100.10", "gateway": "198.51.100.10"},
        {"address_family": 6, "public": True, "management": True, "enabled": True,
         "address": "2001:db8:4a:7f00::1", "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
         "cidr": 127, "network": "2001:db8:4a:7f00::", "gateway": "2001:db8:4a:7f00::"},
        {"address_family": 4, "public": False, "management": True, "enabled": True,
         "address": "10.70.12.3", "netmask": "255.255.255.254", "cidr": 31,
         "network": "10.70.12.2", "gateway": "10.70.12.2"},
    ]
    i = 0
    while len(addrs) < addresses:
        kind = i % 3
        if kind == 0:    # elastic public IPv4, /32, no gateway
            addrs.append({"address_family": 4, "public": True, "management": False,
                          "enabled": True, "address": f"203.0.{(i // 256) % 256}.{i % 256}",
                          "netmask": "255.255.255.255", "cidr": 32})
        elif kind == 1:  # extra IPv6 /127 with gateway
            addrs.append({"address_family": 6, "public": True, "management": False,
                          "enabled": True, "address": f"2001:db8:100:{i:x}::1",
                          "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "cidr": 127,
                          "gateway": f"2001:db8:100:{i:x}::"})
        else:            # extra private IPv4 /31 with gateway
            addrs.append({"address_family": 4, "public": False, "management": False,
                          "enabled": True, "address": f"10.{100 + i // 65536}.{(i // 256) % 256}."
                                                      f"{(i % 128) * 2 + 1}",
                          "netmask": "255.255.255.254", "cidr": 31,
                          "gateway": f"10.{100 + i // 65536}.{(i // 256) % 256}.{(i % 128) * 2}"})
        i += 1
    return {
        "id": "00000000-0000-4000-8000-000000000064",
        "hostname": "scale-01.example.net",
        "plan": "n3.xlarge.x86",
        "operating_system": {"slug": "centos_7", "distro": "centos", "version": "7"},
        "private_subnets": ["10.0.0.0/8"],
        "network": {
            "bonding": {"mode": 4, "link_aggregation": "bonded", "mac": _mac(0)},
            "interfaces": interfaces,
            "addresses": addrs,
        },
    }


def scale_lshw_xml(nics=64):
    """An ``lshw -class network -xml`` capture with ``nics`` ports, two per PCI card."""
    parts = ['<?xml version="1.0" standalone="yes" ?>', "<list>"]
    for i in range(nics):
        bus, fn = 1 + i // 2, i % 2
        parts.append(f"""  <node id="network:{i}" claimed="true" class="network" handle="PCI:0000:{bus:02x}:00.{fn}">
    <description>Ethernet interface</description>
    <product>Ethernet Controller X710 for 10GbE SFP+</product>
    <vendor>Intel Corporation</vendor>
    <physid>0.{fn}</physid>
    <businfo>pci@0000:{bus:02x}:00.{fn}</businfo>
    <logicalname>enp{bus}s0f{fn}</logicalname>
    <version>02</version>
    <serial>{_mac(i)}</serial>
    <width units="bits">64</width>
    <clock units="Hz">33000000</clock>
    <configuration>
      <setting id="autonegotiation" value="off" />
      <setting id="broadcast" value="yes" />
      <setting id="driver" value="i40e" />
      <setting id="driverversion" value="2.8.20-k" />
      <setting id="firmware" value="6.01 0x800034a4 1.1747.0" />
      <setting id="latency" value="0" />
      <setting id="link" value="yes" />
      <setting id="multicast" value="yes" />
    </configuration>
    <capabilities>
      <capability id="pciexpress" >PCI Express</capability>
      <capability id="bus_master" >bus mastering</capability>
      <capability id="ethernet" />
      <capability id="physical" >Physical interface</capability>
    </capabilities>
  </node>""")
    parts.append("</list>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- local servers

class MetadataServer:
    """127.0.0.1 HTTP server: ``/ok``; ``/flaky/<key>/<n>`` (503 for the first n requests of
    ``key``); ``/stall/<key>`` (headers, then silence until the client hangs up).

    ``events[key]`` lists the monotonic times of each request (and, for a stall, of the
    client hanging up), so retry timing is measured where it happens."""

    def __init__(self, body):
        self.body = body
        self.counts = {}
        self.events = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, body=b""):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                parts = self.path.strip("/").split("/")
                if parts[0] == "ok":
                    return self._send(200, outer.body)
                if parts[0] == "flaky" and len(parts) == 3:
                    seen = outer.record(parts[1])
                    if seen <= int(parts[2]):
                        return self._send(503, b'{"error": "unavailable"}')
                    return self._send(200, outer.body)
                if parts[0] == "stall" and len(parts) == 2:
                    outer.record(parts[1])
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(outer.body)))
                    self.end_headers()
                    self.wfile.flush()
                    if _wait_for_hangup(self.connection, outer.stop):
                        outer.record(parts[1])
                    self.close_connection = True
                    return None
                return self._send(404)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # clients that give up (the point of the outage cases) reset connections

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path}"

    def record(self, key):
        with self.lock:
            self.events.setdefault(key, []).append(time.monotonic())
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def requests_for(self, key):
        with self.lock:
            return self.counts.get(key, 0)

    def events_for(self, key):
        with self.lock:
            return list(self.events.get(key, []))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _wait_for_hangup(conn, stop, limit=120.0):
    """True once the peer closes ``conn`` (readable with no data), False on stop/limit."""
    deadline = time.monotonic() + limit
    while not stop.is_set() and time.monotonic() < deadline:
        ready, _, _ = select.select([conn], [], [], 0.05)
        if ready:
            try:
                if not conn.recv(4096, socket.MSG_PEEK):
                    return True
                conn.recv(4096)  # request bytes: read and ignore
            except OSError:
                return True
    return False


class HangingServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte.

    ``holds`` lists, per connection, the seconds from accept until the client hung up:
    how long the tool waited on a silent server in each attempt."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.holds = []
        self.stop = threading.Event()
        self.threads = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._hold, args=(conn, time.monotonic()),
                                      daemon=True)
            thread.start()
            self.threads.append(thread)

    def _hold(self, conn, accepted):
        with conn:
            if _wait_for_hangup(conn, self.stop):
                self.holds.append(time.monotonic() - accepted)

    def url(self):
        return f"http://127.0.0.1:{self.port}/metadata"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(2)
        for thread in self.threads:
            thread.join(2)
        self.sock.close()


# --------------------------------------------------------------------------- running

def child_env():
    env = dict(os.environ)
    for key in ("PACKET_METADATA_URL", "PACKET_RESOLVERS"):
        env.pop(key, None)
    # requests honours proxy variables: the local servers must be reached directly
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = ",".join(filter(None, [env.get(key), "127.0.0.1", "localhost"]))
    return env


def run_once(cmd, env, cwd, expect_ok=True):
    """Run ``cmd``; return (wall s, cpu s, max RSS KiB, exit code, stderr text)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if expect_ok and proc.returncode != 0:
        raise SystemExit(f"benchmark command failed (exit {proc.returncode}): "
                         f"{shlex.join(cmd)}\n{text}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode, text


def summarize(samples):
    walls = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    rss = [s[2] for s in samples]
    codes = sorted({s[3] for s in samples})
    return {
        "runs": len(samples), "exit_codes": codes,
        "wall_median": statistics.median(walls), "wall_min": min(walls), "wall_max": max(walls),
        "cpu_median": statistics.median(cpus), "cpu_min": min(cpus),
        "rss_kib_median": statistics.median(rss), "rss_kib_max": max(rss),
    }


def timed_suite(cases, runs, warmup, env):
    """Run every case ``runs`` times, interleaved, rotating the order each round."""
    names = list(cases)
    samples = {name: [] for name in names}
    for rnd in range(warmup + runs):
        shift = rnd % len(names)
        for name in names[shift:] + names[:shift]:
            cmd, prepare = cases[name]
            if prepare:
                prepare(rnd)
            # another tool may fail after its start-up on these inputs: time it anyway
            result = run_once(cmd(rnd) if callable(cmd) else cmd, env, REPO,
                              expect_ok=not name.startswith("compare-"))
            if rnd >= warmup:
                samples[name].append(result)
        print(f"  round {rnd + 1}/{warmup + runs}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return samples


def outage_runs(tool, nics_file, server, runs, quick, env, workdir, stagger=1.0):
    """Flaky (3 x 503), hung and stalled servers.

    The processes overlap (they mostly sleep) but start ``stagger`` seconds apart, so
    that their start-ups do not compete for the CPUs. Besides the whole-process time,
    the servers time what the tool cannot blame on start-up: first to last request
    (the retries), and how long each attempt waited on a silent server.
    """
    pid = os.getpid()
    jobs = [("flaky-3", None, f"f{i}-{pid}") for i in range(runs)]
    jobs.append(("hang", 1, None))
    if not quick:
        jobs.append(("hang", 2, None))
        jobs.append(("stall-after-headers", 1, f"s-{pid}"))
    results = [None] * len(jobs)

    def work(index, kind, attempts, key):
        target = workdir / f"outage-{index}"
        target.mkdir()
        hang = HangingServer() if kind == "hang" else None
        if kind == "flaky-3":
            url = server.url(f"flaky/{key}/3")
        elif kind == "stall-after-headers":
            url = server.url(f"stall/{key}")
        else:
            url = hang.url()
        cmd = tool + ["--metadata-url", url, "--nics-file", str(nics_file), "-o", "centos 7",
                      "-t", str(target), "--resolvers", "192.0.2.53"]
        if attempts:
            cmd += ["-n", str(attempts)]
        started = time.monotonic()
        if hang:
            with hang:
                wall, _, _, code, err = run_once(cmd, env, REPO, expect_ok=False)
                time.sleep(0.2)  # let the server see the last hang-up
            holds = sorted(hang.holds)
        else:
            wall, _, _, code, err = run_once(cmd, env, REPO, expect_ok=False)
            holds = []
        events = server.events_for(key) if key else []
        result = {"case": kind, "max_attempts": attempts or "default (10)", "seconds": wall,
                  "exit": code, "requests": len(holds) if hang else
                  (server.requests_for(key) if kind == "flaky-3" else 1),
                  "stderr": err.strip().splitlines()}
        if kind == "flaky-3" and events:
            result["start_to_first_request"] = events[0] - started
            result["first_to_last_request"] = events[-1] - events[0]
        if kind == "stall-after-headers" and len(events) == 2:
            holds = [events[1] - events[0]]
        result["attempt_waits"] = holds
        results[index] = result

    threads = [threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
        time.sleep(stagger)
    for thread in threads:
        thread.join()
    return results


# --------------------------------------------------------------------------- reporting

def machine_info(python):
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = subprocess.run(
        [python, "-c", "import sys, click, jinja2, lxml.etree as e, platform;"
         "from importlib.metadata import version as v;"
         "print(platform.python_version(), v('click'), jinja2.__version__, "
         "'.'.join(map(str, e.LXML_VERSION[:3])), v('requests'))"],
        capture_output=True, text=True, check=True).stdout.split()
    try:
        load = os.getloadavg()
    except OSError:
        load = (0, 0, 0)
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "packetnetworking"], capture_output=True, text=True).stdout
        commit += " (+ uncommitted changes in packetnetworking/)" if dirty.strip() else ""
    except OSError:
        commit = "?"
    return {
        "cpu": cpu, "nproc": os.cpu_count(), "kernel": platform.release(),
        "python": versions[0], "click": versions[1], "jinja2": versions[2],
        "lxml": versions[3], "requests": versions[4], "loadavg_at_start": list(load),
        "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def ms(seconds):
    return f"{seconds * 1000:.0f}"


def markdown(report):
    info, rows, outage, goals = report["machine"], report["timings"], report["outage"], \
        report["goals"]
    out = []
    out.append(f"Machine: {info['cpu']}, {info['nproc']} CPUs, Linux {info['kernel']}, "
               f"Python {info['python']} (click {info['click']}, Jinja2 {info['jinja2']}, "
               f"lxml {info['lxml']}, requests {info['requests']}); load average at start "
               f"{' '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}; commit "
               f"{info['commit']}; {info['date']}.")
    out.append("")
    out.append(f"Whole-process runs, {report['runs']} each, interleaved; ratios are against the "
               "import floor (`python -c \"" + FLOOR_IMPORTS + "\"`).")
    out.append("")
    out.append("| command | wall median ms | wall min ms | CPU median ms | peak RSS MiB "
               "| wall ratio (median) | wall ratio (min) | CPU ratio (median) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    floor = rows["floor"]
    for name, row in rows.items():
        label = report["labels"][name]
        if row["exit_codes"] != [0]:
            label += f" (exit {', '.join(map(str, row['exit_codes']))})"
        out.append(
            f"| {label} | {ms(row['wall_median'])} | {ms(row['wall_min'])} "
            f"| {ms(row['cpu_median'])} | {row['rss_kib_median'] / 1024:.1f} "
            f"| {row['wall_median'] / floor['wall_median']:.2f} "
            f"| {row['wall_min'] / floor['wall_min']:.2f} "
            f"| {row['cpu_median'] / floor['cpu_median']:.2f} |")
    out.append("")
    if outage:
        out.append("Metadata outages (local server on 127.0.0.1, default settings unless noted):")
        out.append("")
        out.append("| case | --max-attempts | whole process s | exit | requests | start to 1st "
                   "request s | 1st to last request s | wait per silent attempt s "
                   "| last message |")
        out.append("|---|---|---:|---:|---:|---:|---:|---|---|")
        for r in outage:
            last = r["stderr"][-1] if r["stderr"] else ""
            first = r.get("start_to_first_request")
            window = r.get("first_to_last_request")
            waits = ", ".join(f"{w:.2f}" for w in r.get("attempt_waits", []))
            out.append(f"| {r['case']} | {r['max_attempts']} | {r['seconds']:.2f} | {r['exit']} "
                       f"| {r['requests']} | {'' if first is None else f'{first:.2f}'} "
                       f"| {'' if window is None else f'{window:.2f}'} | {waits} "
                       f"| {last.replace('|', '/')[:100]} |")
        out.append("")
    out.append("| goal | measured | target | met |")
    out.append("|---|---:|---:|---|")
    for g in goals:
        out.append(f"| {g['goal']} | {g['measured']} | {g['target']} | "
                   f"{'yes' if g['met'] else 'NO'} |")
    return "\n".join(out) + "\n"


def evaluate(rows, outage, read_timeout):
    goals = []
    std, floor, scale = rows["standard"], rows["floor"], rows["scale"]
    r = std["wall_median"] / floor["wall_median"]
    goals.append({"goal": "standard run vs import floor (wall, medians)", "measured": f"{r:.2f}x",
                  "target": f"<= {GOAL_STANDARD_VS_FLOOR}x", "met": r <= GOAL_STANDARD_VS_FLOOR})
    r = scale["wall_median"] / std["wall_median"]
    goals.append({"goal": "64 NICs / 32 bonds / 1,024 addresses vs 2 NICs (wall, medians)",
                  "measured": f"{r:.2f}x", "target": f"<= {GOAL_SCALE_VS_STANDARD}x",
                  "met": r <= GOAL_SCALE_VS_STANDARD})
    if "scale-fresh" in rows and "standard-fresh" in rows:
        r = rows["scale-fresh"]["wall_median"] / rows["standard-fresh"]["wall_median"]
        goals.append({"goal": "same, fresh empty target (every file written)",
                      "measured": f"{r:.2f}x", "target": f"<= {GOAL_SCALE_VS_STANDARD}x",
                      "met": r <= GOAL_SCALE_VS_STANDARD})
    flaky = [o for o in outage if o["case"] == "flaky-3"]
    if flaky:
        worst = max(o["seconds"] for o in flaky)
        ok = all(o["exit"] == 0 for o in flaky)
        goals.append({"goal": f"recovery from 3 failed requests, default settings "
                              f"(worst of {len(flaky)})",
                      "measured": f"{worst:.2f} s", "target": f"< {GOAL_RECOVERY_SECONDS:.0f} s",
                      "met": ok and worst < GOAL_RECOVERY_SECONDS})
    if flaky:
        worst = max(o.get("first_to_last_request", 99) for o in flaky)
        goals.append({"goal": "same, retries alone (first to last request, worst)",
                      "measured": f"{worst:.2f} s", "target": "<= 7 s (1 + 2 + 4 s backoff)",
                      "met": worst <= 7.05})
    silent = [o for o in outage if o["case"] in ("hang", "stall-after-headers")]
    if silent:
        waits = [w for o in silent for w in o["attempt_waits"]]
        attempts = sum(o["max_attempts"] for o in silent)
        worst = max(waits) if waits else float("inf")
        goals.append({"goal": f"silent server: each attempt given up within the read timeout "
                              f"({len(waits)} of {attempts} attempts seen)",
                      "measured": f"{worst:.2f} s", "target": f"<= {read_timeout:.0f} s (+0.5)",
                      "met": len(waits) == attempts and worst <= read_timeout + 0.5
                      and all(o["exit"] != 0 for o in silent)})
    return goals


# --------------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, help="timed runs per command (default 21, quick 5)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5 runs, one recovery and one hang case")
    parser.add_argument("--json", metavar="PATH", help="also save the raw samples and summary")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the floor and the tool (default: this one)")
    parser.add_argument("--tool", help="command that runs packet-networking "
                                       "(default: PYTHON -m packetnetworking from the checkout)")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=CMD",
                        help="another tool to time on the same inputs; CMD may use {metadata} "
                             "{nics} {target}, e.g. the production tool (repeatable)")
    parser.add_argument("--no-outage", action="store_true", help="skip the metadata outage cases")
    parser.add_argument("--no-fresh", action="store_true",
                        help="skip the fresh-target cases (every file written and fsynced)")
    parser.add_argument("--keep-bytecode-as-is", action="store_true",
                        help="do not byte-compile the package first (see docs/performance.md)")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 21)
    warmup = 1 if args.quick else 2
    python = args.python
    tool = shlex.split(args.tool) if args.tool else [python, "-m", "packetnetworking"]
    env = child_env()

    if not args.keep_bytecode_as_is and not args.tool:
        # pip compiles an installed package's bytecode; a checkout under
        # PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run
        subprocess.run([python, "-m", "compileall", "-q", str(REPO / "packetnetworking")],
                       check=True, stdout=subprocess.DEVNULL)

    info = machine_info(python)
    print(f"machine: {info['cpu']} x{info['nproc']}, Python {info['python']}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="pn-bench-"))
    try:
        meta_small = REPO / "examples" / "metadata.json"
        nics_small = REPO / "examples" / "lshw.xml"
        meta_big = work / "metadata-64nics.json"
        nics_big = work / "lshw-64nics.xml"
        meta_big.write_text(json.dumps(scale_metadata(), indent=1))
        nics_big.write_text(scale_lshw_xml())

        def tool_cmd(meta, nics, target):
            return tool + ["-M", str(meta), "--nics-file", str(nics), "-o", "centos 7",
                           "-t", str(target), "-q"]

        targets = {}

        def target(name):
            path = work / "targets" / name
            path.mkdir(parents=True, exist_ok=True)
            targets[name] = path
            return path

        def fresh(name):
            def cmd(rnd):
                return tool_cmd(*fresh_inputs[name], work / "fresh" / name / str(rnd))

            def prepare(rnd):
                (work / "fresh" / name / str(rnd)).mkdir(parents=True)
            return cmd, prepare

        labels = {
            "bare": "`python -c pass`",
            "floor": f"floor: `python -c \"{FLOOR_IMPORTS}\"`",
            "standard": "standard: 2 NICs, lshw XML, target already written",
            "scale": "scale: 64 NICs, 32 bonds, 1,024 addresses, target already written",
            "standard-fresh": "standard, fresh empty target",
            "scale-fresh": "scale, fresh empty target",
            "standard-json": "standard, JSON NIC list instead of lshw XML",
            "standard-url": "standard, metadata from a local URL",
        }
        fresh_inputs = {"standard-fresh": (meta_small, nics_small),
                        "scale-fresh": (meta_big, nics_big)}
        nics_json = work / "nics.json"
        nics_json.write_text(json.dumps([{"name": "enp1s0f0", "mac": "b8:ce:f6:10:20:30",
                                          "driver": "i40e"},
                                         {"name": "enp1s0f1", "mac": "b8:ce:f6:10:20:31",
                                          "driver": "i40e"}]))
        server = MetadataServer(meta_small.read_bytes())
        with server:
            cases = {
                "bare": ([python, "-c", "pass"], None),
                "floor": ([python, "-c", FLOOR_IMPORTS], None),
                "standard": (tool_cmd(meta_small, nics_small, target("standard")), None),
                "scale": (tool_cmd(meta_big, nics_big, target("scale")), None),
            }
            if not args.no_fresh:
                cases["standard-fresh"] = fresh("standard-fresh")
                cases["scale-fresh"] = fresh("scale-fresh")
            cases["standard-json"] = (tool_cmd(meta_small, nics_json, target("json")), None)
            url_cmd = tool + ["--metadata-url", server.url("ok"), "--nics-file", str(nics_small),
                              "-o", "centos 7", "-t", str(target("url")), "-q"]
            cases["standard-url"] = (url_cmd, None)
            for spec in args.compare:
                name, _, cmd = spec.partition("=")
                text = cmd.format(metadata=meta_small, nics=nics_small,
                                  target=target(f"compare-{name}"))
                cases[f"compare-{name}"] = (shlex.split(text), None)
                labels[f"compare-{name}"] = f"{name}: `{text}`"
            print(f"timing {len(cases)} commands x {runs} runs (+{warmup} warm-up)",
                  file=sys.stderr)
            samples = timed_suite(cases, runs, warmup, env)
            rows = {name: summarize(s) for name, s in samples.items()}

            outage = []
            read_timeout = float(subprocess.run(
                [python, "-c", "from packetnetworking import source; print(source.READ_TIMEOUT)"],
                cwd=REPO, capture_output=True, text=True, check=True).stdout)
            if not args.no_outage:
                print("outage cases (overlapping, started 1 s apart; ~30 s)", file=sys.stderr)
                outage = outage_runs(tool, nics_small, server, 1 if args.quick else 5,
                                     args.quick, env, work)
        report = {"machine": info, "runs": runs, "warmup": warmup, "tool": shlex.join(tool),
                  "labels": labels, "timings": rows, "outage": outage,
                  "goals": evaluate(rows, outage, read_timeout),
                  "samples": {n: [list(x[:3]) for x in s] for n, s in samples.items()}}
        print(markdown(report))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
        return 0 if all(g["met"] for g in report["goals"]) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
