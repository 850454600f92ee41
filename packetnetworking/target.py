"""A read-only, confined view of the target root: what is installed there.

Used to pick the network stack the target really runs. Every lookup is
resolved inside the root (symlinks included) exactly as the writer does, so
inspecting a hostile root can never read the host.
"""
import os
import stat

from packetnetworking.errors import TargetError


class TargetRoot:
    def __init__(self, rootfs):
        self.rootfs = rootfs
        self.root = os.path.realpath(rootfs) if rootfs and os.path.isdir(rootfs) else None

    def _host_path(self, relpath):
        """``(host path, directories missing on the way)`` for ``relpath``, resolved
        inside the root as the writer resolves it; None when that is not possible."""
        from packetnetworking.writer import resolve

        if self.root is None:
            return None
        try:
            return resolve(self.root, relpath)
        except TargetError:
            return None

    def _stat(self, relpath):
        found = self._host_path(relpath)
        if found is None or found[1]:
            return None
        try:
            return os.stat(found[0])
        except OSError:
            return None

    def resolved(self, relpath):
        """Where ``relpath`` leads inside the root (symlinks followed), relative to it;
        None when there is no root or the path cannot be resolved inside it."""
        found = self._host_path(relpath)
        return None if found is None else os.path.relpath(found[0], self.root)

    def exists(self, relpath):
        return self._stat(relpath) is not None

    def is_dir(self, relpath):
        st = self._stat(relpath)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def any(self, *relpaths):
        return any(self.exists(p) for p in relpaths)

    def read(self, relpath, limit=65536):
        """Text of a small file in the target, or None."""
        st = self._stat(relpath)
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        try:
            with open(self._host_path(relpath)[0], "rb") as f:
                return f.read(limit).decode("utf-8", "replace")
        except OSError:
            return None

    def is_empty(self):
        if self.root is None:
            return True
        try:
            return not os.listdir(self.root)
        except OSError:
            return True
