"""Run the CLI against hostile inputs and check the promises it makes on every failure.

The promises (README "What the tool promises"): a documented exit code, exactly one
line on stderr (no traceback), nothing on stdout, nothing written outside the target
root, and, when the run fails, the target root byte for byte as it was.

Everything here is self-contained (no shared helpers): the hostile suite must keep
checking the same thing whatever happens to the other tests' helpers.
"""
import contextlib
import copy
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BASE_METADATA = json.loads((EXAMPLES / "metadata.json").read_text())
BASE_LSHW = (EXAMPLES / "lshw.xml").read_bytes()
#: OS names of the two NICs in examples/lshw.xml, in metadata interface order.
NIC_NAMES = ("enp1s0f0", "enp1s0f1")
MACS = ("b8:ce:f6:10:20:30", "b8:ce:f6:10:20:31")

#: Exit codes the README documents for a failure; 70 (internal error) is a bug.
FAILURE_CODES = {2, 10, 20, 30, 40, 50, 60}
#: The writer's temporary and backup files (``.NAME.pn-new-PID-HEX8``).
TEMPORARY = re.compile(r"\.pn-(new|backup)-[0-9]+-[0-9a-f]{8}$")
PREFIX = "packet-networking: error: "


def metadata(**top):
    """A fresh copy of examples/metadata.json with top-level fields replaced."""
    doc = copy.deepcopy(BASE_METADATA)
    doc.update(copy.deepcopy(top))
    return doc


def nic_list(names=NIC_NAMES, macs=MACS, driver="i40e"):
    return [{"name": n, "mac": m, "driver": driver} for n, m in zip(names, macs)]


# --- paths inside a JSON document ------------------------------------------------

def _steps(path):
    """'network.addresses[0].cidr' -> ['network', 'addresses', 0, 'cidr']."""
    steps = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            steps.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            steps.append(int(index))
            rest = rest.lstrip("[")
    return steps


def set_path(doc, path, value):
    steps = _steps(path)
    node = doc
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = value
    return doc


def del_path(doc, path):
    steps = _steps(path)
    node = doc
    for step in steps[:-1]:
        node = node[step]
    del node[steps[-1]]
    return doc


def leaf_paths(node, prefix=""):
    """Every path in a JSON document, containers included, parents first."""
    paths = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()
    for key, value in items:
        path = f"{prefix}[{key}]" if isinstance(key, int) else (
            f"{prefix}.{key}" if prefix else key)
        paths.append(path)
        paths.extend(leaf_paths(value, path))
    return paths


# --- snapshots ---------------------------------------------------------------------

def snapshot(top, exclude=()):
    """``{relpath: description}`` of a tree, never following links, never opening
    anything but regular files (a FIFO or device must not block or be read)."""
    top = Path(top)
    tree = {}
    if not os.path.lexists(top):
        return {".": "absent"}
    st = os.lstat(top)
    tree["."] = _describe(top, st)
    if not stat.S_ISDIR(st.st_mode):
        return tree
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d))
                       not in exclude]
        for name in sorted(dirnames + filenames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in exclude:
                continue
            path = os.path.join(dirpath, name)
            tree[rel] = _describe(path, os.lstat(path))
    return tree


def _describe(path, st):
    kind = stat.S_IFMT(st.st_mode)
    common = (stat.filemode(st.st_mode), st.st_uid, st.st_gid)
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            return common + (f.read(),)
    if stat.S_ISLNK(st.st_mode):
        return common + (os.readlink(path),)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return common + (st.st_rdev,)
    return common + (kind,)


def diff_snapshots(before, after):
    """Readable difference for assertion messages."""
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            lines.append(f"{key}: {_short(before.get(key))} -> {_short(after.get(key))}")
    return "\n".join(lines[:20]) or "(no difference)"


def _short(value):
    text = repr(value)
    return text if len(text) < 100 else text[:100] + "..."


# --- running the CLI ------------------------------------------------------------------

@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    elapsed: float

    def __str__(self):
        return f"exit {self.code}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"


def run_subprocess(args, stdin=b"", env=None, timeout=120):
    """``python -m packetnetworking ARGS`` as the operator would run it."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + ([full_env["PYTHONPATH"]] if full_env.get("PYTHONPATH") else []))
    for key in ("PACKET_METADATA_URL", "PACKET_RESOLVERS"):
        full_env.pop(key, None)
    full_env.update(env or {})
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "packetnetworking", *map(str, args)],
                          input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=full_env, timeout=timeout, cwd=str(REPO))
    return Result(proc.returncode, proc.stdout.decode("utf-8", "backslashreplace"),
                  proc.stderr.decode("utf-8", "backslashreplace"),
                  time.monotonic() - started)


def run_in_process(args, stdin=b""):
    """``cli.main(ARGS)`` with stdin/stdout/stderr captured and logging restored."""
    from packetnetworking import cli

    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    code = 0
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = old_stdin
        root.handlers[:], level = saved
        root.setLevel(level)
    return Result(code, out.getvalue(), err.getvalue(), time.monotonic() - started)


def assert_one_line_failure(result, code=None):
    """A documented non-zero code, one stderr line, no traceback, nothing on stdout."""
    assert result.code in FAILURE_CODES, f"undocumented exit code\n{result}"
    if code is not None:
        assert result.code == code, f"expected exit {code}\n{result}"
    assert "Traceback" not in result.stderr, str(result)
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, (
        f"stderr is not exactly one line\n{result}")
    assert result.stderr.startswith(PREFIX), str(result)
    assert result.stdout == "", f"stdout not empty on failure\n{result}"


# --- a workspace: the target root, a sentinel outside it, the inputs -------------------

OUTSIDE_FILES = {
    # what a writer escaping through a symlink would overwrite
    "etc/hostname": b"sentinel-host\n",
    "etc/hosts": b"# sentinel hosts\n",
    "etc/resolv.conf": b"nameserver 192.0.2.53\n",
    "etc/sysconfig/network": b"SENTINEL=yes\n",
    "etc/sysconfig/network-scripts/ifcfg-bond0": b"SENTINEL=yes\n",
    "etc/modprobe.d/bonding.conf": b"# sentinel\n",
    "sbin/ifup-pre-local": b"#!/bin/sh\nexit 0\n",
    "etc/network/interfaces": b"# sentinel\n",
    "etc/netplan/50-sentinel.yaml": b"network: {version: 2}\n",
}


class Workspace:
    """``base/root`` (the target), ``base/outside`` (must never change), ``base/in``."""

    def __init__(self, base):
        self.base = Path(base)
        self.root = self.base / "root"
        self.outside = self.base / "outside"
        self.inputs = self.base / "in"
        for d in (self.root, self.outside, self.inputs):
            d.mkdir(parents=True, exist_ok=True)
        for rel, data in OUTSIDE_FILES.items():
            path = self.outside / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.counter = 0
        self._before = None

    def file(self, data, name=None):
        """Write an input file (dict/list -> JSON, str, bytes); return its path."""
        self.counter += 1
        path = self.inputs / (name or f"input-{self.counter}")
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        path.write_bytes(data)
        return path

    def args(self, doc=None, nics=None, os_option="centos 7", resolvers="147.75.207.207",
             root=None, extra=()):
        """Arguments for a run. ``doc``/``nics``: data (dict, list, str, bytes) written to
        an input file, or a ``Path`` passed as is; None: the examples."""
        meta = doc if isinstance(doc, Path) else self.file(
            metadata() if doc is None else doc, f"metadata-{self.counter + 1}.json")
        nic_arg = nics if isinstance(nics, Path) else self.file(
            BASE_LSHW if nics is None else nics, f"nics-{self.counter + 1}")
        args = ["-M", meta, "--nics-file", nic_arg, "-t", self.root if root is None else root]
        if os_option is not None:
            args += ["-o", os_option]
        if resolvers is not None:
            args += ["--resolvers", resolvers]
        return [str(a) for a in args] + [str(a) for a in extra]

    def mark(self):
        """Remember the target root and everything outside it."""
        self._before = (snapshot(self.root), self._outside_snapshot())
        return self._before

    def _outside_snapshot(self):
        return snapshot(self.base, exclude={"root", "in"})

    def assert_outside_unchanged(self):
        assert self._before is not None, "call mark() before the run"
        after = self._outside_snapshot()
        assert after == self._before[1], (
            "something outside the target root changed:\n"
            + diff_snapshots(self._before[1], after))

    def assert_root_unchanged(self):
        after = snapshot(self.root)
        assert after == self._before[0], (
            "the target root changed on a failed run:\n" + diff_snapshots(self._before[0], after))

    def assert_failed(self, result, code=None):
        """The full failure contract."""
        assert_one_line_failure(result, code)
        self.assert_outside_unchanged()
        self.assert_root_unchanged()

    def assert_succeeded(self, result):
        assert result.code == 0, str(result)
        assert "Traceback" not in result.stderr, str(result)
        self.assert_outside_unchanged()
        leftovers = [p for p in snapshot(self.root) if TEMPORARY.search(p)]
        assert not leftovers, f"temporary files left in the target: {leftovers}"

    def run(self, args, subprocess=False, **kwargs):
        if self._before is None:
            self.mark()
        return (run_subprocess if subprocess else run_in_process)(args, **kwargs)


def written_files(root):
    """``{relpath: bytes}`` of the regular files under ``root``."""
    return {k: v[3] for k, v in snapshot(root).items()
            if k != "." and v[0].startswith("-")}
