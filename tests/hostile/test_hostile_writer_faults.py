"""Every failure the writer can meet mid-run, at every point: all or nothing.

A fault is injected at the k-th filesystem call that changes something (for every k of
a real run), and the run must end either in exit 60 with the root exactly as it was,
or in exit 0 with the complete new output (a fault in a step that is not needed, e.g.
syncing a directory). Then: KeyboardInterrupt at those points, filesystems without hard
links, a failing rollback, and signals sent to a real process mid-write.
"""
import errno
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from packetnetworking import writer

from .harness import REPO, Workspace, assert_one_line_failure, run_in_process, snapshot
from .test_hostile_target import install_previous

MUTATING = ("write", "fsync", "fchmod", "fchown", "link", "rename", "unlink", "mkdir",
            "rmdir", "symlink", "close", "open")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT


class FaultyOS:
    """``os`` for the writer, failing the ``fail_at``-th changing call (1-based) with
    ``error``; every call after it (the rollback's) works unless ``fail_after`` names
    functions that keep failing."""

    def __init__(self, fail_at=None, error=None, fail_after=(), no_hard_links=False):
        self.fail_at = fail_at
        self.error = error or OSError(errno.EIO, os.strerror(errno.EIO))
        self.fail_after = set(fail_after)
        self.no_hard_links = no_hard_links
        self.count = 0
        self.failed = False
        self.lock = threading.Lock()  # the writer fsyncs from several threads

    def __getattr__(self, name):
        real = getattr(os, name)
        if name not in MUTATING:
            return real

        def call(*args, **kwargs):
            if name == "open" and not (args[1] & WRITE_FLAGS):
                return real(*args, **kwargs)
            if name == "link" and self.no_hard_links:
                raise OSError(errno.EPERM, "Operation not permitted")
            with self.lock:
                self.count += 1
                fail = self.count == self.fail_at
                if fail:
                    self.failed = True
                failing_after = self.failed and name in self.fail_after
            if failing_after and not fail:
                raise OSError(errno.EIO, "rollback fails too")
            if fail:
                raise self.error
            if name == "fsync":
                return None  # where it fails matters here, not durability: keep it fast
            return real(*args, **kwargs)

        return call


def _run(ws, monkeypatch, fake):
    previous = writer.os
    writer.os = fake
    try:
        return run_in_process(ws.args())
    finally:
        writer.os = previous


@pytest.fixture
def reference(tmp_path_factory):
    """The complete output for the default input over the previous installation."""
    ws = Workspace(tmp_path_factory.mktemp("reference"))
    install_previous(ws)
    result = run_in_process(ws.args())
    assert result.code == 0, str(result)
    return snapshot(ws.root)


def _count_calls(tmp_path_factory, monkeypatch, **kwargs):
    ws = Workspace(tmp_path_factory.mktemp("count"))
    install_previous(ws)
    fake = FaultyOS(**kwargs)
    result = _run(ws, monkeypatch, fake)
    assert result.code == 0, str(result)
    return fake.count


@pytest.mark.parametrize("no_hard_links", [False, True], ids=["hard-links", "no-hard-links"])
def test_fault_at_every_step(tmp_path_factory, monkeypatch, reference, no_hard_links):
    total = _count_calls(tmp_path_factory, monkeypatch, no_hard_links=no_hard_links)
    assert total > 40  # the run really changes things: files, directories, a deletion
    problems = []
    outcomes = {0: 0, 60: 0}
    # every call with hard links; every other one without (the copy path is the same code)
    for k in range(1, total + 1, 2 if no_hard_links else 1):
        ws = Workspace(tmp_path_factory.mktemp(f"fault{k}"))
        install_previous(ws)
        ws.mark()
        fake = FaultyOS(fail_at=k, no_hard_links=no_hard_links)
        result = _run(ws, monkeypatch, fake)
        try:
            if result.code == 0:
                ws.assert_succeeded(result)
                assert snapshot(ws.root) == reference, "success but not the full output"
            else:
                ws.assert_failed(result, 60)
            outcomes[result.code] += 1
        except AssertionError as err:
            problems.append(f"fault at call {k}: {err}")
    assert not problems, "\n\n".join(problems[:5])
    assert outcomes[60] > sum(outcomes.values()) // 2, outcomes  # most steps matter


@pytest.mark.parametrize("k", [1, 5, 12, 25, 40])
def test_interrupt_at_a_step_rolls_back(ws, monkeypatch, k):
    install_previous(ws)
    ws.mark()
    result = _run(ws, monkeypatch, FaultyOS(fail_at=k, error=KeyboardInterrupt()))
    assert result.code == 130, str(result)
    # click starts the message on a fresh line after the terminal's ^C
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    ws.assert_root_unchanged()
    ws.assert_outside_unchanged()


def test_no_hard_links_still_all_or_nothing(ws, monkeypatch, reference):
    install_previous(ws)
    ws.mark()
    result = _run(ws, monkeypatch, FaultyOS(no_hard_links=True))
    ws.assert_succeeded(result)
    assert snapshot(ws.root) == reference


def test_failing_rollback_is_still_one_line_exit_60(ws, monkeypatch):
    """When undoing fails too (the disk went away), say so on one line: exit 60."""
    install_previous(ws)
    ws.mark()
    fake = FaultyOS(fail_at=30, fail_after=("rename", "unlink", "rmdir"))
    result = _run(ws, monkeypatch, fake)
    assert_one_line_failure(result, 60)
    assert "undoing the run also failed" in result.stderr
    ws.assert_outside_unchanged()


def test_lock_held_too_long_is_exit_60(ws, monkeypatch):
    import fcntl
    monkeypatch.setattr(writer, "LOCK_TIMEOUT", 0.3)
    install_previous(ws)
    ws.mark()
    fd = os.open(ws.root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = run_in_process(ws.args())
    finally:
        os.close(fd)
    ws.assert_failed(result, 60)
    assert "another packet-networking run" in result.stderr


def test_stale_temporaries_of_a_killed_run_are_removed(ws):
    install_previous(ws)
    scripts = ws.root / "etc/sysconfig/network-scripts"
    stale = [scripts / ".ifcfg-bond0.pn-new-4242-0123abcd",
             scripts / ".ifcfg-bond0.pn-backup-4242-89abcdef",
             ws.root / "etc/.hostname.pn-new-1-deadbeef"]
    for path in stale:
        path.write_text("half\n")
    keep = scripts / ".ifcfg-bond0.pn-new-4242-notours"
    keep.write_text("not ours\n")
    ws.assert_succeeded(ws.run(ws.args()))
    assert not any(p.exists() for p in stale)
    assert keep.exists()


# --- signals sent to a real process while it writes ---------------------------------------

DRIVER = """
import sys, time
import packetnetworking.writer as w
_replace = w._replace
def slow(*args):
    time.sleep(float(sys.argv[1]))
    return _replace(*args)
w._replace = slow
from packetnetworking.cli import main
main(sys.argv[2:])
"""


def start_slow_run(ws, delay, args=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(delay), *(args or ws.args())],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_until_writing(ws, proc, timeout=30):
    """Until the first new file is in place (the commit has begun)."""
    hostname = ws.root / "etc/hostname"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if b"web-01" in hostname.read_bytes():
                return
        except OSError:
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the run never started writing")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_termination_signal_waits_for_a_whole_run(ws, reference, sig):
    install_previous(ws)
    ws.mark()
    proc = start_slow_run(ws, 0.1)
    wait_until_writing(ws, proc)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode == -sig  # it still dies of the signal, once the run is whole
    assert snapshot(ws.root) == reference
    ws.assert_outside_unchanged()


def test_interrupt_signal_rolls_back(ws):
    install_previous(ws)
    ws.mark()
    proc = start_slow_run(ws, 0.1)
    wait_until_writing(ws, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().count(b"\n") == 0 and b"Traceback" not in err
    ws.assert_root_unchanged()
    ws.assert_outside_unchanged()


def test_sigkill_leaves_whole_files_and_the_next_run_completes(ws, reference):
    install_previous(ws)
    before = snapshot(ws.root)
    ws.mark()
    proc = start_slow_run(ws, 0.1)
    wait_until_writing(ws, proc)
    time.sleep(0.25)
    proc.kill()
    proc.communicate(timeout=60)
    after = snapshot(ws.root)
    for rel, state in after.items():
        if ".pn-new-" in rel or ".pn-backup-" in rel or state[0].startswith("d"):
            continue
        assert state in (before.get(rel), reference.get(rel)), f"{rel} is neither old nor new"
    ws.assert_outside_unchanged()
    result = run_in_process(ws.args())
    ws.assert_succeeded(result)
    assert snapshot(ws.root) == reference
