"""Fixtures shared by every test module (helpers live in helpers.py)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from helpers import make_metadata  # noqa: E402


@pytest.fixture(autouse=True)
def _isolation(monkeypatch):
    """Every test starts with no metadata/resolver variables from the host, and any
    BuilderHook or DistroBuilder a test defines is unregistered afterwards."""
    from packetnetworking import builder, hooks
    from packetnetworking.builder import DistroBuilder
    from packetnetworking.hooks import BuilderHook

    builder._load_distros()  # register built-ins first: they load once per process
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
    """A fresh default metadata dict (see helpers.make_metadata)."""
    return make_metadata()
