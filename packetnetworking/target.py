"""A read-only, confined view of the target root: what is installed there.

Used to pick the network stack the target really runs, to find the other
stacks' files that configure the same NICs, the units to enable and the
manifest of an earlier run. Every lookup is resolved inside the root
(symlinks included) exactly as the writer does, so inspecting a hostile root
can never read the host.
"""
import fnmatch
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
        data = self.read_bytes(relpath, limit)
        return None if data is None else data.decode("utf-8", "replace")

    def read_bytes(self, relpath, limit=65536):
        """The first ``limit`` bytes of a regular file in the target (symlinks followed
        inside the root), or None: missing, not a regular file, unreadable."""
        st = self._stat(relpath)
        if st is None or not stat.S_ISREG(st.st_mode):
            return None
        try:
            # O_NONBLOCK: a FIFO swapped in after the stat must not block the run
            fd = os.open(self._host_path(relpath)[0], os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as f:
                return f.read(limit)
        except OSError:
            return None

    def lexists(self, relpath):
        """True when something (even a dangling symlink) is at ``relpath``; the
        directories on the way are resolved inside the root, the last part is not."""
        found = self._final(relpath)
        if found is None:
            return False
        try:
            os.lstat(found)
        except OSError:
            return False
        return True

    def readlink(self, relpath):
        """The target of the symlink at ``relpath`` as written in it, or None when
        there is no symlink there."""
        found = self._final(relpath)
        if found is None:
            return None
        try:
            return os.readlink(found)
        except OSError:
            return None

    def _final(self, relpath):
        """The host path of ``relpath`` with its directories resolved inside the root
        and its last part not followed; None when it cannot be there."""
        from packetnetworking.writer import resolve

        if self.root is None:
            return None
        try:
            found, missing = resolve(self.root, relpath, follow_final=False)
        except TargetError:
            return None
        return None if missing else found

    def glob(self, pattern):
        """Paths (relative to the root, sorted) of the entries of one directory whose
        names match ``pattern``'s last part (``etc/netplan/*.yaml``); hidden names
        only when the pattern asks for them."""
        directory, _, name_pattern = pattern.rpartition("/")
        if not self.is_dir(directory):
            return []
        try:
            names = os.listdir(self._host_path(directory)[0])
        except OSError:
            return []
        return sorted(f"{directory}/{name}" for name in names
                      if fnmatch.fnmatchcase(name, name_pattern)
                      and (not name.startswith(".") or name_pattern.startswith(".")))

    def is_empty(self):
        if self.root is None:
            return True
        try:
            return not os.listdir(self.root)
        except OSError:
            return True
