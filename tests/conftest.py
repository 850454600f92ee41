"""Fixtures shared by every test module (helpers live in the support package)."""
import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

# A suite started as a background job (or under nohup) inherits SIGINT (SIGHUP) ignored,
# and a Python started with SIGINT ignored never raises KeyboardInterrupt. The interrupt
# tests need the signals as an operator's shell delivers them, in this process and in the
# CLI processes it starts (a handler set here is reset to the default across exec).
signal.signal(signal.SIGINT, signal.default_int_handler)
for _name in ("SIGTERM", "SIGHUP", "SIGQUIT"):
    signal.signal(getattr(signal, _name), signal.SIG_DFL)

from support.helpers import make_metadata  # noqa: E402


@pytest.fixture(autouse=True)
def _isolation(monkeypatch):
    """Every test starts with no metadata/resolver variables from the host, and any
    BuilderHook or DistroBuilder a test defines is unregistered afterwards."""
    from packetnetworking import distros, hooks
    from packetnetworking.builder import DistroBuilder
    from packetnetworking.hooks import BuilderHook

    distros.load_all()  # register built-ins first: they load once per process
    hooks.load_plugins()

    for name in ("PACKET_METADATA_URL", "PACKET_RESOLVERS"):
        monkeypatch.delenv(name, raising=False)
    hooks_before = list(BuilderHook.registry)
    distros_before = list(DistroBuilder.registry)
    yield
    BuilderHook.registry[:] = hooks_before
    DistroBuilder.registry[:] = distros_before


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver listens on 127.0.0.1, not "localhost": a minimal container or
    chroot may have no /etc/hosts, and the name would not resolve there."""
    return ("127.0.0.1", 0)


@pytest.fixture
def rootfs(tmp_path):
    """An empty target root directory."""
    root = tmp_path / "rootfs"
    root.mkdir()
    return root


@pytest.fixture
def metadata_doc():
    """A fresh default metadata dict (see support.helpers.make_metadata)."""
    return make_metadata()
