"""Boot-test suite: fixtures and the decision to run, skip or fail.

The suite boots Debian 12 under QEMU (see vmharness.py), plain or as an image variant
carrying another family's reader (NetworkManager with ifcfg-rh, ifupdown-ng).  It runs when it is
selected explicitly (``-m boot`` or ``PN_BOOT=1``, or ``PN_BOOT_REQUIRED=1``);
in a plain ``python -m pytest`` run the boot tests are skipped, so that run
stays fast and CI does not boot everything twice.  When the host lacks what the
suite needs (qemu-system-x86_64, debootstrap, mke2fs/debugfs, root) the tests
skip with the reason, unless ``PN_BOOT_REQUIRED=1``: then they fail.

Environment:
  PN_BOOT_CACHE     cache directory (default ~/.cache/packet-networking/boot)
  PN_BOOT_REQUIRED  1: missing requirements fail instead of skipping
  PN_BOOT           1: run the boot tests even without ``-m boot``
  PN_BOOT_NO_KVM    1: force TCG (software emulation) even if KVM works
  PN_BOOT_PARALLEL  VMs booted at once (default 2)
  PN_BOOT_TIMEOUT   seconds per boot (default 150 with KVM, 300 with TCG)
  PN_BOOT_KEEP      1: keep every case's root copy and disk image
  PN_BOOT_MIRROR    Debian mirror for debootstrap (default: the host's apt mirror)
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

import vmharness  # noqa: E402

_TIMINGS: list[tuple[str, dict]] = []
_TIMINGS_LOCK = threading.Lock()


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "boot: boots a Debian 12 VM under QEMU to prove generated configs work "
        "(slow; run with: python -m pytest -m boot tests/boot)",
    )


def _selected(config) -> bool:
    if _flag("PN_BOOT") or _flag("PN_BOOT_REQUIRED"):
        return True
    markexpr = config.getoption("markexpr", default="") or ""
    return "boot" in markexpr and "not boot" not in markexpr


def missing_requirements() -> list[str]:
    """Why the boot suite cannot run on this host (empty list: it can)."""
    reasons = []
    tools = vmharness.missing_host_tools()
    if tools:
        reasons.append(
            "missing %s (apt-get install qemu-system-x86 debootstrap e2fsprogs)"
            % ", ".join(tools)
        )
    if os.geteuid() != 0:
        reasons.append("needs root (debootstrap, chroot, cp -a keeping owners)")
    return reasons


def pytest_collection_modifyitems(config, items):
    boot_items = [i for i in items if i.get_closest_marker("boot")]
    if not boot_items:
        return
    if not _selected(config):
        marker = pytest.mark.skip(
            reason="boot suite is opt-in: python -m pytest -m boot tests/boot (or PN_BOOT=1)"
        )
    else:
        reasons = missing_requirements()
        if not reasons or _flag("PN_BOOT_REQUIRED"):
            return  # run; with PN_BOOT_REQUIRED a missing tool fails in the fixture
        marker = pytest.mark.skip(reason="boot suite cannot run here: " + "; ".join(reasons))
    for item in boot_items:
        item.add_marker(marker)


class BootEnv:
    """What the boot tests need: the cached base root, its kernel, a work dir."""

    def __init__(self, base: Path, workdir: Path, cache: Path):
        self.base = base
        self.kernel, self.initrd = vmharness.find_kernel(base)
        self.workdir = workdir
        self.cache = cache
        self._variants: dict[str, Path] = {}

    def variant(self, name: str) -> Path:
        """The root of image variant ``name`` (vmharness.VARIANTS), built on first use and
        cached; raises vmharness.HarnessError (the cases using it fail) when it cannot be
        built, e.g. NetworkManager with ifcfg-rh."""
        if name not in self._variants:
            self._variants[name] = vmharness.build_variant(self.base, self.cache, name,
                                                           log=self.base_messages.append)
        return self._variants[name]

    def run(self, cases, parallel=None):
        """Boot ``cases`` (vmharness.Case), ``parallel`` at a time.

        Returns ``{name: result dict or exception}``; timings are printed in
        the terminal summary.
        """
        results = vmharness.run_cases(self.base, self.workdir, cases, parallel=parallel)
        with _TIMINGS_LOCK:
            for name, result in sorted(results.items()):
                if isinstance(result, dict):
                    _TIMINGS.append((name, result))
        return results


@pytest.fixture(scope="session")
def boot_env(tmp_path_factory) -> BootEnv:
    """Session-wide base root (built with debootstrap on first use, then cached)."""
    reasons = missing_requirements()
    if reasons:
        message = "boot suite cannot run here: " + "; ".join(reasons)
        if _flag("PN_BOOT_REQUIRED"):
            pytest.fail(message + " (PN_BOOT_REQUIRED=1)", pytrace=False)
        pytest.skip(message)
    cache = Path(
        os.environ.get("PN_BOOT_CACHE") or "~/.cache/packet-networking/boot"
    ).expanduser()
    started = time.monotonic()
    messages = []
    try:
        base = vmharness.build_base_root(cache, log=messages.append)
    except vmharness.HarnessError as exc:
        pytest.fail("building the Debian 12 base root failed: %s" % exc, pytrace=False)
    env = BootEnv(base, tmp_path_factory.mktemp("boot"), cache)
    env.base_seconds = time.monotonic() - started
    env.base_messages = messages
    return env


def pytest_terminal_summary(terminalreporter):
    if not _TIMINGS:
        return
    tr = terminalreporter
    tr.section("boot timings")
    for name, result in _TIMINGS:
        t = result.get("timings", {})
        tr.write_line(
            "%-28s %-4s boot %5.1f s  copy %4.1f s  image %4.1f s  guest uptime %5.1f s"
            % (
                name,
                result.get("accel", "?"),
                t.get("boot", 0.0),
                t.get("copy", 0.0),
                t.get("image", 0.0),
                result.get("report", {}).get("uptime_s", 0.0),
            )
        )
