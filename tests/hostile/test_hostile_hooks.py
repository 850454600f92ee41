"""Hooks that fail, in every trigger: the run stops with one line naming the hook.

``written`` runs inside the writer's transaction (every file in place, the backups
not yet removed): a hook failing there undoes the run. Whatever a hook raises,
BaseException subclasses and SystemExit included, the exit code is 70 (a bug in the
hook) and the target is as it was; a PacketNetworkingError keeps its own code, and
Ctrl-C is still an interrupt (130).
"""
import pytest

from packetnetworking.errors import NICError
from packetnetworking.hooks import BuilderHook

from .test_hostile_target import install_previous


class Odd(BaseException):
    """Not an Exception: what a careless plugin might raise."""


ERRORS = {
    "RuntimeError": (lambda: RuntimeError("boom"), 70, "RuntimeError: boom"),
    "BaseException": (lambda: Odd("odd"), 70, "Odd: odd"),
    "SystemExit-3": (lambda: SystemExit(3), 70, "SystemExit: 3"),
    "SystemExit-0": (lambda: SystemExit(0), 70, "SystemExit: 0"),
    "NICError": (lambda: NICError("the hook says no", "fix it"), 50, "the hook says no; fix it"),
    "KeyboardInterrupt": (KeyboardInterrupt, 130, "interrupted"),
}
TRIGGERS = ["initialized", "tasks_built", "written"]


@pytest.mark.parametrize("error", ERRORS)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_a_failing_hook_stops_the_run_and_leaves_the_target_as_it_was(ws, trigger, error):
    make, code, text = ERRORS[error]
    seen = {}

    def hook(self, *args):
        if trigger == "written":  # every change is in place when the hook runs
            seen["hostname"] = (ws.root / "etc/hostname").read_bytes()
        raise make()

    type("FailingHook", (BuilderHook,), {f"hook_{trigger}": hook})
    install_previous(ws)
    ws.mark()
    result = ws.run(ws.args())
    assert result.code == code, str(result)
    if code == 70:
        assert result.stderr == (f"packet-networking: error: hook FailingHook failed in "
                                 f"hook_{trigger}: {text}; the target was left as it was; "
                                 "fix or remove the hook\n")
    else:
        assert result.stderr == f"packet-networking: error: {text}\n"
    assert result.stdout == ""
    ws.assert_root_unchanged()
    ws.assert_outside_unchanged()
    if trigger == "written":
        assert b"web-01" in seen["hostname"]
