"""Ctrl-C at start-up and while the inputs are read: one line, exit 130, never a
traceback, nothing at all with -q (a real SIGINT each time; the writer's own interrupt
cases are in test_hostile_writer_faults.py).
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from .harness import REPO

#: SIGINT sent to itself by the process when it first imports ``sys.argv[1]``.
STARTUP = """
import os, signal, sys
module = sys.argv[1]
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Interrupt())
from packetnetworking.entry import main
main(sys.argv[2:])
"""

INTERRUPTED = b"packet-networking: error: interrupted\n"


def _env():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PACKET_METADATA_URL", None)
    return env


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
@pytest.mark.parametrize("module", ["packetnetworking.cli", "click", "jinja2",
                                    "packetnetworking.builder", "packetnetworking.writer",
                                    "packetnetworking.distros.redhat"])
def test_ctrl_c_while_starting_up(ws, module, quiet):
    args = ws.args() + (["-q"] if quiet else [])
    ws.mark()
    proc = subprocess.run([sys.executable, "-c", STARTUP, module, *args], capture_output=True,
                          env=_env(), timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, b"", b"" if quiet
                                                           else INTERRUPTED)
    ws.assert_root_unchanged()


def _wait_reading(proc, timeout=30):
    """Until the process waits in a pipe read (its kernel wait channel says so)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()
        try:
            with open(f"/proc/{proc.pid}/wchan") as f:
                if "pipe_read" in f.read():
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise AssertionError("the run never waited for its input")


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
@pytest.mark.parametrize("which", ["-M", "--nics-file"])
@pytest.mark.parametrize("source", ["fifo", "stdin"])
def test_ctrl_c_while_reading_an_input_is_130(ws, which, source, quiet):
    """A pipe whose writer never writes nor closes: the run waits for the input; Ctrl-C
    there is an interrupt (it was exit 40 or 50, 'Bad file descriptor')."""
    args = ws.args() + (["-q"] if quiet else [])
    fifo = ws.inputs / "fifo"
    os.mkfifo(fifo)
    args[args.index(which) + 1] = str(fifo) if source == "fifo" else "-"
    writer = os.open(fifo, os.O_RDWR)  # a writer that never writes (Linux: no wait)
    proc = subprocess.Popen([sys.executable, "-m", "packetnetworking", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    try:
        _wait_reading(proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out, err) == (130, b"", b"" if quiet else INTERRUPTED)
