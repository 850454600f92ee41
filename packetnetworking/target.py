"""A read-only, confined view of the target root: what is installed there.

Used to pick the network stack the target really runs. Every lookup walks the
root through directory handles exactly as the writer does (confine.py): symlinks
are followed inside the root, and a file is read only when it is a regular file,
opened without following a link and without blocking (a FIFO swapped in never
hangs a run). What lies in the running system's ``run/``, ``proc/``, ``sys/``,
``dev/`` or behind a mount of the host is not the target's and is not looked at.
"""
import os
import stat

from packetnetworking import confine
from packetnetworking.errors import TargetError


class TargetRoot:
    def __init__(self, rootfs):
        self.rootfs = rootfs

    def _look(self, relpath, then):
        """``then(location)`` for ``relpath`` walked inside the root; None when there is
        no root, the path cannot be resolved inside it, or a read fails."""
        if not self.rootfs:
            return None
        try:
            with confine.Root(self.rootfs) as root:
                return then(root.locate(relpath))
        except (TargetError, OSError):
            return None

    def _stat(self, relpath):
        def status(location):
            if location.host:
                return None
            st = confine.lstat(location)
            return None if st is None or stat.S_ISLNK(st.st_mode) else st

        return self._look(relpath, status)

    def resolved(self, relpath):
        """Where ``relpath`` leads inside the root (symlinks followed), relative to it;
        None when there is no root or the path cannot be resolved inside it."""
        return self._look(relpath, lambda location: location.path)

    def exists(self, relpath):
        return self._stat(relpath) is not None

    def is_dir(self, relpath):
        st = self._stat(relpath)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def any(self, *relpaths):
        return any(self.exists(p) for p in relpaths)

    def read(self, relpath, limit=65536):
        """Text of a small regular file in the target, or None."""
        def text(location):
            if location.host or location.missing:
                return None
            data, _, fd = confine.open_regular(location, limit)
            os.close(fd)
            return data.decode("utf-8", "replace")

        return self._look(relpath, text)

    def is_empty(self):
        try:
            with confine.Root(self.rootfs) as root:
                return not os.listdir(root.top.fd)
        except (TargetError, OSError, TypeError):
            return True
