"""A read-only, confined view of the target root: what is installed there.

Used to pick the network stack the target really runs, to find the other
stacks' files that configure the same NICs, the units to enable and the
manifest of an earlier run. Every lookup walks the
root through directory handles exactly as the writer does (confine.py): symlinks
are followed inside the root, and a file is read only when it is a regular file,
opened without following a link and without blocking (a FIFO swapped in never
hangs a run). What lies in the running system's ``run/``, ``proc/``, ``sys/``,
``dev/`` or behind a mount of the host is not the target's and is not looked at.
"""
import fnmatch
import os
import stat

from packetnetworking import confine
from packetnetworking.errors import TargetError


class TargetRoot:
    """Lookups share one walk of the root (``confine.Root``, opened at the first one):
    a run looks at the same directories many times (every stack's files, units, the
    manifest). ``close()`` (or ``with``) closes its handles; a later lookup opens
    them again. Nothing here changes the target, so what a walk saw stays true until
    the writer runs, which walks the root afresh."""

    def __init__(self, rootfs):
        self.rootfs = rootfs
        self._root = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        root, self._root = self._root, None
        if root is not None:
            root.close()

    def _walk(self):
        if self._root is None:
            self._root = confine.Root(self.rootfs)
        return self._root

    def _look(self, relpath, then, follow=True):
        """``then(location)`` for ``relpath`` walked inside the root (``follow``: a
        symlink at its last component too); None when there is no root, the path
        cannot be resolved inside it, or a read fails."""
        if not self.rootfs:
            return None
        try:
            return then(self._walk().locate(relpath, follow=follow))
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
        data = self.read_bytes(relpath, limit)
        return None if data is None else data.decode("utf-8", "replace")

    def read_bytes(self, relpath, limit=65536):
        """The first ``limit`` bytes of a regular file in the target, or None."""
        def content(location):
            if location.host or location.missing:
                return None
            data, _, fd = confine.open_regular(location, limit)
            os.close(fd)
            return data

        return self._look(relpath, content)

    def _look_here(self, relpath, then):
        """``then(location)`` for ``relpath`` with its last component not followed."""
        def here(location):
            return None if location.host or location.missing else then(location)

        return self._look(relpath, here, follow=False)

    def lexists(self, relpath):
        """True when something (a dangling symlink too) is at ``relpath``."""
        return bool(self._look_here(relpath, lambda loc: confine.lstat(loc) is not None))

    def readlink(self, relpath):
        """The text of the symlink at ``relpath``, or None when no symlink is there."""
        def text(location):
            st = confine.lstat(location)
            if st is None or not stat.S_ISLNK(st.st_mode):
                return None
            return os.readlink(location.name, dir_fd=location.parent.fd)

        return self._look_here(relpath, text)

    def glob(self, pattern):
        """Paths (relative to the root, sorted) of the entries of one directory whose
        names match ``pattern``'s last part (``etc/netplan/*.yaml``); hidden names only
        when the pattern asks for them. The directory is named as the path gives it."""
        directory, _, name_pattern = pattern.rpartition("/")
        if not self.rootfs or not directory:
            return []
        try:
            root = self._walk()
            location = root.locate(directory)
            if location.host or location.missing:
                return []
            found = root.child(location.parent, location.name)
            if not isinstance(found, confine.Dir) or found.host:
                return []
            names = os.listdir(found.fd)
        except (TargetError, OSError):
            return []
        return sorted(f"{directory}/{name}" for name in names
                      if fnmatch.fnmatchcase(name, name_pattern)
                      and (not name.startswith(".") or name_pattern.startswith(".")))

    def is_empty(self):
        try:
            return not os.listdir(self._walk().top.fd)
        except (TargetError, OSError, TypeError):
            return True
