"""Runs racing a process that swaps a directory of the target for a symlink out of it.

Issue 16: paths checked while planning were resolved again by path when written, so
``etc/`` swapped for a symlink to a directory outside the target in between was
followed: about 1 run in 10 changed files outside. Here another process swaps ``etc/``
between the real directory (moved aside inside the target while the link is in
place) and a symlink to ``outside/etc``, absolute or relative, as fast as it can, while
the runs go on. Every run ends in success or a documented one-line failure, and the
outside directory stays byte for byte as it was, whatever the timing. The run count is
bounded, and so are the swapper's time and the wait for it. The swap is atomic
(``renameat2`` with ``RENAME_EXCHANGE``): ``etc`` is never missing, so no run
creates a fresh one.
"""
import subprocess
import sys
import time

import pytest

from .harness import FAILURE_CODES, run_in_process, snapshot
from .test_hostile_target import install_previous

SWAPPER = """
import ctypes, os, sys, time
root, target, stop = sys.argv[1], sys.argv[2], sys.argv[3]
etc, other = os.path.join(root, "etc"), os.path.join(root, "etc.other")
libc = ctypes.CDLL(None, use_errno=True)
def exchange():  # renameat2(RENAME_EXCHANGE): etc is never missing, only swapped
    if libc.renameat2(-100, etc.encode(), -100, other.encode(), 2) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
end = time.monotonic() + float(sys.argv[4])
swaps = 0
while not os.path.exists(stop) and time.monotonic() < end:
    # the link waits at etc.other, absolute or relative (re-rooted, or refused, inside)
    os.symlink(target if swaps % 2 else os.path.relpath(target, root), other)
    exchange()            # etc is a link out of the target, the directory is etc.other
    time.sleep(0.0005)
    exchange()            # and back
    os.unlink(other)
    swaps += 1
print(swaps)
"""


def _race(ws, runs):
    install_previous(ws)
    ws.mark()
    outside_before = snapshot(ws.outside)
    stop = ws.inputs / "stop"
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(ws.root),
                                str(ws.outside / "etc"), str(stop), "600"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    codes = {}
    try:
        time.sleep(0.05)
        for _ in range(runs):
            result = run_in_process(ws.args())
            codes[result.code] = codes.get(result.code, 0) + 1
            assert result.code == 0 or result.code in FAILURE_CODES, str(result)
            assert "Traceback" not in result.stderr, str(result)
            if result.code:
                assert result.stderr.count("\n") == 1, str(result)
            assert snapshot(ws.outside) == outside_before, (
                f"a run changed the outside directory: {result}")
    finally:
        stop.touch()
        out, err = swapper.communicate(timeout=60)
    assert swapper.returncode == 0, err.decode()
    swaps = int(out)
    assert swaps > runs, f"only {swaps} swaps during {runs} runs: the race did not happen"
    # the swapper left etc/ as a directory: a quiet run completes, nothing left behind
    ws.assert_succeeded(run_in_process(ws.args()))
    leftovers = [p for p in snapshot(ws.root) if ".pn-" in p]
    assert not leftovers, leftovers
    ws.assert_outside_unchanged()
    return codes


def test_symlink_swapped_continuously_never_changes_anything_outside(ws):
    codes = _race(ws, 200)
    assert codes.get(0, 0) + codes.get(60, 0) == 200, codes


@pytest.mark.slow
def test_symlink_swap_long(ws):
    codes = _race(ws, 2000)
    assert codes.get(0, 0) + codes.get(60, 0) == 2000, codes
