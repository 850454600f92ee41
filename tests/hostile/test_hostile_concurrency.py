"""Two runs on the same root at once: the result is one of the two whole outputs.

The writer locks the root directory itself (flock, no lock file), so the second run
plans and writes only after the first has finished. The slowed variant sleeps before
each file so the two runs certainly overlap: without the lock they would interleave.
"""
import os
import subprocess
import sys
import time

import pytest

from .harness import REPO, Workspace, metadata, run_in_process, set_path, snapshot
from .test_hostile_writer_faults import DRIVER


def other_server():
    """Same NICs and file set, different name and addresses."""
    doc = metadata(hostname="db-02.example.org")
    set_path(doc, "network.addresses[0].address", "203.0.113.7")
    set_path(doc, "network.addresses[0].gateway", "203.0.113.6")
    set_path(doc, "network.addresses[1].address", "2001:db8:99::3")
    set_path(doc, "network.addresses[1].gateway", "2001:db8:99::2")
    set_path(doc, "network.addresses[2].address", "10.9.9.9")
    set_path(doc, "network.addresses[2].gateway", "10.9.9.8")
    return doc


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The complete output of each run alone."""
    result = {}
    for name, doc in (("a", metadata()), ("b", other_server())):
        ws = Workspace(tmp_path_factory.mktemp(f"alone-{name}"))
        run = run_in_process(ws.args(doc))
        assert run.code == 0, str(run)
        result[name] = snapshot(ws.root)
    assert result["a"] != result["b"]
    assert set(result["a"]) == set(result["b"])  # same files, different contents
    return result


def _start(args, delay):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if delay:
        cmd = [sys.executable, "-c", DRIVER, str(delay), *args]
    else:
        cmd = [sys.executable, "-m", "packetnetworking", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


@pytest.mark.parametrize("delay", [0, 0.03], ids=["plain", "slowed"])
@pytest.mark.parametrize("round_", range(2))
def test_two_runs_at_once_give_one_whole_output(ws, outputs, delay, round_):
    args_a = ws.args(metadata())
    args_b = ws.args(other_server())
    ws.mark()
    first, second = (args_a, args_b) if round_ % 2 == 0 else (args_b, args_a)
    procs = [_start(first, delay), _start(second, delay)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    final = snapshot(ws.root)
    assert final in (outputs["a"], outputs["b"]), "the two runs interleaved"
    ws.assert_outside_unchanged()


@pytest.mark.parametrize("order", ["a-then-b", "b-then-a"])
def test_a_fast_run_cannot_overtake_a_slow_one(ws, outputs, order):
    """The second run starts while the first (slowed) is half-way through its files:
    without the lock it would finish first and the slow one would overwrite only the
    rest, leaving a mix."""
    docs = {"a": metadata(), "b": other_server()}
    first, second = order.split("-then-")
    ws.mark()
    slow = _start(ws.args(docs[first]), 0.15)
    hostname = ws.root / "etc/hostname"
    deadline = time.monotonic() + 60
    while not hostname.exists():
        assert slow.poll() is None and time.monotonic() < deadline, slow.communicate()
        time.sleep(0.005)
    fast = _start(ws.args(docs[second]), 0)
    for proc in (slow, fast):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert snapshot(ws.root) == outputs[second], "the two runs interleaved"
    ws.assert_outside_unchanged()


def test_lock_leaves_no_file(ws):
    ws.run(ws.args())
    names = {p.name for p in ws.root.rglob("*")}
    assert not any("lock" in n for n in names)
