"""Every failure and interrupt the writer can meet mid-run, at every point: all or nothing.

A fault is injected at the k-th filesystem call that changes something (for every k of
a real run), and the run must end either in exit 60 with the root exactly as it was,
or in exit 0 with the complete new output (a fault in a step that is not needed, e.g.
syncing a directory). A real SIGINT is sent to the process right after the k-th call
(for every k): exit 130, the root as it was or complete, nothing left behind. Then:
filesystems without hard links, a failing rollback, and signals sent from outside to a
real process while it writes, while it rolls back, and SIGKILL.
"""
import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from packetnetworking import confine, transaction, writer

from .harness import REPO, TEMPORARY, Workspace, assert_one_line_failure, run_in_process, snapshot
from .test_hostile_target import install_previous

MUTATING = ("write", "fsync", "fchmod", "fchown", "link", "rename", "unlink", "mkdir",
            "rmdir", "symlink", "close", "open", "setxattr")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT
#: The modules that call the system for the writer (each holds its own ``os``).
MODULES = (writer, transaction, confine)


class FaultyOS:
    """``os`` for the writer, failing the ``fail_at``-th changing call (1-based; of the
    function named ``only`` when given) with ``error``, or sending ``signal_after`` to
    this process right after it; every call after it (the rollback's) works unless
    ``fail_after`` names functions that keep failing."""

    def __init__(self, fail_at=None, error=None, fail_after=(), no_hard_links=False,
                 signal_after=None, only=None):
        self.fail_at = fail_at
        self.only = only
        self.error = error or OSError(errno.EIO, os.strerror(errno.EIO))
        self.fail_after = set(fail_after)
        self.no_hard_links = no_hard_links
        self.signal_after = signal_after
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
                self.count += self.only in (None, name)
                hit = self.count == self.fail_at and self.only in (None, name)
                if hit:
                    self.failed = True
                failing_after = self.failed and name in self.fail_after
            if failing_after and not hit:
                raise OSError(errno.EIO, "rollback fails too")
            if hit and self.signal_after is None:
                raise self.error
            result = None if name == "fsync" else real(*args, **kwargs)  # fsync: keep it fast
            if hit:
                os.kill(os.getpid(), self.signal_after)
            return result

        return call


@contextlib.contextmanager
def os_replaced(fake):
    saved = [module.os for module in MODULES]
    for module in MODULES:
        module.os = fake
    try:
        yield fake
    finally:
        for module, previous in zip(MODULES, saved):
            module.os = previous


def _run(ws, fake):
    with os_replaced(fake):
        return run_in_process(ws.args())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The complete output for the default input over the previous installation."""
    ws = Workspace(tmp_path_factory.mktemp("reference"))
    install_previous(ws)
    result = run_in_process(ws.args())
    assert result.code == 0, str(result)
    return snapshot(ws.root)


def _count_calls(tmp_path_factory, **kwargs):
    ws = Workspace(tmp_path_factory.mktemp("count"))
    install_previous(ws)
    fake = FaultyOS(**kwargs)
    result = _run(ws, fake)
    assert result.code == 0, str(result)
    return fake.count


def _no_leftovers(ws):
    leftovers = [p for p in snapshot(ws.root) if TEMPORARY.search(p) or ".pn-" in p]
    assert not leftovers, f"left in the target: {leftovers}"


@pytest.mark.parametrize("no_hard_links", [False, True], ids=["hard-links", "no-hard-links"])
def test_fault_at_every_step(tmp_path_factory, reference, no_hard_links):
    total = _count_calls(tmp_path_factory, no_hard_links=no_hard_links)
    assert total > 40  # the run really changes things: files, directories, a deletion
    problems = []
    outcomes = {0: 0, 60: 0}
    # every call with hard links; every other one without (the copy path is the same code)
    for k in range(1, total + 1, 2 if no_hard_links else 1):
        ws = Workspace(tmp_path_factory.mktemp(f"fault{k}"))
        install_previous(ws)
        ws.mark()
        result = _run(ws, FaultyOS(fail_at=k, no_hard_links=no_hard_links))
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


def test_ctrl_c_after_every_step(tmp_path_factory, reference):
    """A real SIGINT right after each changing call: after a mkdir, a staged file, a
    rename, during the removal of the backups, while the directories are synced..."""
    total = _count_calls(tmp_path_factory)
    problems, outcomes = [], {"as before": 0, "complete": 0}
    for k in range(1, total + 1):
        ws = Workspace(tmp_path_factory.mktemp(f"sigint{k}"))
        install_previous(ws)
        ws.mark()
        before = snapshot(ws.root)
        result = _run(ws, FaultyOS(fail_at=k, signal_after=signal.SIGINT))
        try:
            assert result.code == 130, str(result)
            assert result.stderr == "packet-networking: error: interrupted\n", str(result)
            after = snapshot(ws.root)
            assert after in (before, reference), "neither as before nor complete"
            outcomes["as before" if after == before else "complete"] += 1
            _no_leftovers(ws)
            ws.assert_outside_unchanged()
        except AssertionError as err:
            problems.append(f"SIGINT after call {k}: {err}")
    assert not problems, "\n\n".join(problems[:5])
    assert outcomes["as before"] > total // 2 and outcomes["complete"] > 0, outcomes


def test_a_failure_interrupted_during_its_rollback_still_undoes_everything(ws):
    """A rename fails, and Ctrl-C comes during the rollback: the rollback finishes."""
    install_previous(ws)
    ws.mark()
    failing = FaultyOS(fail_at=5, only="rename")  # half-way through the swap
    real_rollback = transaction._Journal.rollback

    def rollback(journal):  # every undo step is preceded by a real SIGINT
        steps = list(journal.undo)
        journal.undo = [lambda step=step: (os.kill(os.getpid(), signal.SIGINT), step())[1]
                        for step in steps]
        return real_rollback(journal)

    transaction._Journal.rollback = rollback
    try:
        result = _run(ws, failing)
    finally:
        transaction._Journal.rollback = real_rollback
    assert failing.failed and result.code == 130, str(result)
    ws.assert_root_unchanged()
    ws.assert_outside_unchanged()


def test_no_hard_links_still_all_or_nothing(ws, reference):
    install_previous(ws)
    ws.mark()
    result = _run(ws, FaultyOS(no_hard_links=True))
    ws.assert_succeeded(result)
    assert snapshot(ws.root) == reference


def test_failing_rollback_is_still_one_line_exit_60(ws):
    """When undoing fails too (the disk went away), say so on one line: exit 60."""
    install_previous(ws)
    ws.mark()
    fake = FaultyOS(fail_at=5, only="rename", fail_after=("rename", "unlink", "rmdir"))
    result = _run(ws, fake)
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


# --- signals sent from outside to a real process while it writes ------------------------------

DRIVER = """
import sys, time
from packetnetworking import transaction as t
delay = float(sys.argv[1])
swap, rollback = t._swap, t._Journal.rollback
def slow_swap(*args):
    time.sleep(delay)
    return swap(*args)
def slow_rollback(journal):
    journal.undo = [lambda step=step: (time.sleep(delay), step())[1] for step in journal.undo]
    return rollback(journal)
t._swap, t._Journal.rollback = slow_swap, slow_rollback
from packetnetworking.entry import main
main(sys.argv[2:])
"""


def start_slow_run(ws, delay, args=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(delay), *(args or ws.args())],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_until_writing(ws, proc, timeout=30):
    """Until the first new file is in place (the swap has begun)."""
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


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_writing_undoes_the_run_and_exits_130(ws, sig):
    install_previous(ws)
    ws.mark()
    proc = start_slow_run(ws, 0.1)
    wait_until_writing(ws, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    name = "" if sig == signal.SIGINT else f" by {signal.Signals(sig).name}"
    assert (proc.returncode, out, err) == (130, b"", f"packet-networking: error: "
                                           f"interrupted{name}\n".encode())
    ws.assert_root_unchanged()
    ws.assert_outside_unchanged()


def test_ctrl_c_again_and_again_during_the_rollback(ws):
    """The first Ctrl-C starts the rollback; the next ones (and a SIGTERM) wait for it."""
    install_previous(ws)
    ws.mark()
    proc = start_slow_run(ws, 0.05)
    wait_until_writing(ws, proc)
    sent, deadline = 0, time.monotonic() + 30
    while proc.poll() is None and sent < 200 and time.monotonic() < deadline:
        proc.send_signal(signal.SIGTERM if sent == 5 else signal.SIGINT)
        sent += 1
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    assert sent > 5, "the rollback was too quick to be interrupted"
    assert (proc.returncode, out, err) == (130, b"", b"packet-networking: error: interrupted\n")
    ws.assert_root_unchanged()
    ws.assert_outside_unchanged()


def test_quiet_interrupt_prints_nothing(ws):
    install_previous(ws)
    ws.mark()
    proc = start_slow_run(ws, 0.1, ws.args(extra=["-q"]))
    wait_until_writing(ws, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.communicate(timeout=60) == (b"", b"") and proc.returncode == 130
    ws.assert_root_unchanged()


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
