"""Fixtures of the hostile suite: a workspace, tmpfs mounts and immutable files that are
always undone, and the hypothesis profiles.

Profiles (env ``HYPOTHESIS_PROFILE``): ``default`` keeps the fuzzing part of the normal
test run to a few hundred examples; ``long`` runs thousands, for occasional runs:
``HYPOTHESIS_PROFILE=long python -m pytest tests/hostile -k fuzz``.
"""
import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, settings

from .harness import Workspace

_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("default", max_examples=30, **_COMMON)
settings.register_profile("long", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path)


class _NoSyncOS:
    """``os`` for in-process runs, fsync a no-op: durability is not what these tests
    check, and ~30 fsyncs per run would make the corpus 5x slower. Subprocess runs
    (the real CLI) still sync."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def fsync(fd):
        os.fstat(fd)  # still fails on a bad descriptor, as fsync would


@pytest.fixture(autouse=True)
def _no_fsync_in_process(monkeypatch):
    from packetnetworking import transaction
    monkeypatch.setattr(transaction, "os", _NoSyncOS())


@pytest.fixture
def mounts():
    """``mount(dir, options)`` a small tmpfs, ``mount.bind(source, dir, read_only=False)``
    a bind mount; skips when mounting is not allowed here.

    Every mount is undone at teardown, even when the test fails.
    """
    done = []

    def run(command, directory):
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount here (needs root and CAP_SYS_ADMIN): "
                        f"{proc.stdout.decode(errors='replace').strip()}")
        done.append(directory)

    def mount(directory, options):
        directory = str(directory)
        os.makedirs(directory, exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", directory], directory)
        return directory

    def bind(source, directory, read_only=False):
        run(["mount", "--bind", str(source), str(directory)], str(directory))
        if read_only:
            remount(directory, "ro,bind")
        return directory

    def remount(directory, options):
        subprocess.run(["mount", "-o", f"remount,{options}", str(directory)], check=True)

    mount.remount = remount
    mount.bind = bind
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    yield mount
    for directory in reversed(done):
        subprocess.run(["umount", "-l", directory], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


@pytest.fixture
def immutable():
    """``immutable(path, flag="i")``: chattr +i (root cannot write it either) or +a
    (append-only: new names, but none removed or renamed); undone at teardown."""
    done = []

    def make(path, flag="i"):
        proc = subprocess.run(["chattr", f"+{flag}", str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            pytest.skip(f"chattr +{flag} is not supported here: "
                        f"{proc.stdout.decode(errors='replace').strip()}")
        done.append((str(path), flag))

    if shutil.which("chattr") is None:
        pytest.skip("no chattr command")
    yield make
    for path, flag in reversed(done):
        subprocess.run(["chattr", f"-{flag}", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
