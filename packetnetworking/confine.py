"""Paths of the target root, reached only through directory file descriptors.

A path is walked from the root one component at a time: each directory is opened
relative to the one above it with ``O_NOFOLLOW|O_DIRECTORY``; a symbolic link met
on the way is read relative to its directory and followed inside the root by the
same walk (an absolute target starts again at the root, ``..`` never climbs above
it, ``MAX_SYMLINKS`` links at most). The handles stay open for the whole run and
each name is looked at once (``Root`` keeps what it found), so the writer creates,
renames and removes names with the ``dir_fd=`` forms of the system calls relative
to these handles: a directory swapped for a symlink after it was opened is never
followed, and nothing is resolved twice by path. ``TargetRoot`` reads through the
same walk.

Host state. Installers bind-mount the provisioning host's ``/run``, ``/proc``,
``/sys`` and ``/dev`` into the target to chroot into it. Nothing under the target's
``run/``, ``proc/``, ``sys/`` or ``dev/`` belongs to the image, and no mount of the
host may be written through: a directory is the host's when it is one of those four
or below them, or when crossing into it changes the mount (the mount ID of
``/proc/self/fdinfo``) to one that ``mounts`` judges the host's (its content is also
reachable outside the target; in a chroot, a directory of the chroot's own
filesystem). A separate ``/boot`` or ``/var`` filesystem of the image is mounted only
inside the target and is written as usual.
"""
import errno
import fcntl
import os
import stat
import struct
from dataclasses import dataclass
from typing import List, Optional

from packetnetworking import mounts
from packetnetworking.errors import TargetError

MAX_SYMLINKS = 40
DIR_MODE = 0o755
#: Directories of the running system, never the image's (see the module's docstring).
HOST_STATE = ("run", "proc", "sys", "dev")
#: Times a name that changes kind between two looks (a swap in progress) is looked at.
RETRIES = 20

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_MISSING, _NOT_DIR = "missing", "not a directory"


class NotADirectory(TargetError):
    """A path goes through something that is not a directory: it cannot exist."""


@dataclass(eq=False)
class Dir:
    """An open directory of the target."""

    fd: int
    path: str            # relative to the root, "" for the root itself
    mount: int           # mount ID (-1 when /proc cannot tell), or st_dev
    host: str = ""       # why nothing may be written here; "" when it may


@dataclass(frozen=True)
class Link:
    text: str


@dataclass(eq=False)
class Location:
    """Where a path of the target leads: the deepest directory that exists, the
    directories still missing below it and the final name."""

    parent: Dir
    missing: List[str]
    name: str
    via: str = ""        # the link at the path's last component that was followed

    @property
    def path(self):
        """Relative to the root, as the target's OS sees it."""
        return "/".join(p for p in (self.parent.path, *self.missing, self.name) if p)

    @property
    def host(self):
        if self.parent.host:
            return self.parent.host
        top = self.path.split("/", 1)[0]
        return _state(top) if top in HOST_STATE else ""


class Root:
    """The target root, open; a context manager that closes every handle it opened."""

    def __init__(self, rootfs):
        self.rootfs = rootfs
        try:
            fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            if err.errno == errno.ENOTDIR:
                raise TargetError(f"root filesystem {rootfs!r} is not a directory",
                                  "pass the mounted target's directory with -t") from None
            raise TargetError(f"root filesystem {rootfs!r}: {err.strerror}",
                              "mount the target and pass its path with -t") from None
        self._fds = [fd]
        self._seen = {}           # (directory fd, name) -> Dir | Link | _MISSING | _NOT_DIR
        self._host_mounts = mounts.HostMounts()
        try:
            self.top = Dir(fd, "", mounts.mount_id(fd))
        except OSError as err:
            self.close()
            raise TargetError(f"root filesystem {rootfs!r}: {err.strerror}") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        fds, self._fds = self._fds, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass  # only read from: nothing written is at stake

    def locate(self, relpath, follow=True):
        """The Location of ``relpath``; ``follow``: a symlink at the last component is
        followed too (else the link itself is the location). TargetError for a path
        that leaves the root, a symlink loop, or a non-directory where a directory is
        expected."""
        if "\0" in relpath or relpath.startswith("/") or not relpath.strip("/."):
            raise TargetError(f"refusing unsafe target path {relpath!r}")
        pending = list(reversed(relpath.split("/")))
        stack, missing, links, via = [self.top], [], 0, ""
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if missing:
                    missing.pop()
                elif len(stack) > 1:
                    stack.pop()
                else:
                    raise TargetError(f"{relpath}: a path in the target leads outside the "
                                      f"root filesystem {self.rootfs}",
                                      "fix the symlinks in the target")
                continue
            final = all(p in ("", ".") for p in pending)
            if missing:
                if final:
                    return Location(stack[-1], missing, part, via)
                missing.append(part)
                continue
            found = self.final_kind(stack[-1], part) if final else self.child(stack[-1], part)
            if isinstance(found, Link) and (follow or not final):
                links += 1
                if links > MAX_SYMLINKS:
                    raise TargetError(f"{relpath}: too many levels of symbolic links in the "
                                      "target (a symlink loop)", "fix the symlinks in the target")
                if final and not via:
                    via = f"{_join(stack[-1].path, part)} -> {found.text}"
                if found.text.startswith("/"):
                    del stack[1:]
                pending.extend(reversed(found.text.split("/")))
            elif final:
                return Location(stack[-1], missing, part, via)
            elif isinstance(found, Dir):
                stack.append(found)
            elif found == _MISSING:
                missing.append(part)
            else:
                raise NotADirectory(f"{relpath}: {_join(stack[-1].path, part)} in the target "
                                    "is not a directory", "remove or fix it in the target")
        # the path ends on a directory ("etc/.", a link to "/etc/"): name it from its parent
        if missing:
            return Location(stack[-1], missing[:-1], missing[-1], via)
        if len(stack) > 1:
            return Location(stack[-2], [], stack[-1].path.rpartition("/")[2], via)
        raise TargetError(f"{relpath}: resolves to the root filesystem itself")

    def final_kind(self, parent, name):
        """A Link for a symlink at ``name`` in ``parent``, else None (looked at once)."""
        key = (parent.fd, name)
        if key not in self._seen:
            try:
                self._seen[key] = Link(_readlink(name, parent.fd))
            except OSError as err:
                if err.errno not in (errno.EINVAL, errno.ENOENT):
                    raise TargetError(f"{_join(parent.path, name)}: cannot inspect it in the "
                                      f"target: {err.strerror}") from None
                self._seen[key] = None  # not a link: the caller looks at it through its parent
        found = self._seen[key]
        return found if isinstance(found, Link) else None

    def child(self, parent, name, fresh=False):
        """What ``name`` in ``parent`` is: a Dir (opened), a Link, _MISSING or _NOT_DIR."""
        key = (parent.fd, name)
        if not fresh and key in self._seen and self._seen[key] is not None:
            return self._seen[key]
        path = _join(parent.path, name)
        for _ in range(RETRIES):
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=parent.fd)
            except OSError as err:
                if err.errno == errno.ENOENT:
                    found = _MISSING
                elif err.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise TargetError(f"{path}: cannot open it in the target: "
                                      f"{err.strerror}") from None
                else:
                    found = self._not_a_directory(parent, name)
                if found is None:
                    continue  # it changed kind under us: look again
                break
            self._fds.append(fd)
            found = Dir(fd, path, mounts.mount_id(fd), parent.host)
            if not found.host and not parent.path and name in HOST_STATE:
                found.host = _state(name)
            if not found.host and found.mount != parent.mount:
                found.host = self._host_mount(found.mount)
            break
        else:
            raise TargetError(f"{path}: keeps changing between a directory and something "
                              "else while the target is read", "stop what modifies the target")
        self._seen[key] = found
        return found

    def _not_a_directory(self, parent, name):
        try:
            return Link(_readlink(name, parent.fd))
        except OSError as err:
            if err.errno == errno.ENOENT:
                return None
            if err.errno != errno.EINVAL:
                raise TargetError(f"{_join(parent.path, name)}: cannot inspect it in the "
                                  f"target: {err.strerror}") from None
        try:  # not a link: a file, or a directory again
            st = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
        except OSError:
            return None
        return None if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode) else _NOT_DIR

    def make_dirs(self, location, created):
        """Create the location's missing directories (mode 0755 whatever the umask);
        ``created(parent Dir, name)`` is called right after each ``mkdir``. Returns the
        Dir of the location's final name."""
        parent = location.parent
        for name in location.missing:
            found = self._seen.get((parent.fd, name))
            if not isinstance(found, Dir):
                os.mkdir(name, DIR_MODE, dir_fd=parent.fd)
                created(parent, name)
                found = self.child(parent, name, fresh=True)
                if not isinstance(found, Dir):
                    raise TargetError(f"{_join(parent.path, name)}: replaced while the run "
                                      "created it", "stop what modifies the target")
                os.fchmod(found.fd, DIR_MODE)
            parent = found
        return parent

    def host_file(self, fd, parent):
        """Why the file open at ``fd`` in ``parent`` is the host's (a file mounted from
        outside the target, e.g. a container's resolv.conf); "" when it is not."""
        mount = mounts.mount_id(fd)
        return self._host_mount(mount) if mount != parent.mount else ""

    def _host_mount(self, mount):
        """Why the mount ``mount`` is the host's ("" when it is the image's)."""
        try:
            top = os.readlink(f"/proc/self/fd/{self.top.fd}")
        except OSError:
            top = os.path.realpath(self.rootfs)
        return self._host_mounts.why(mount, top)


def _state(top):
    return f"{top}/ holds the running system's state, not the image's"


def _readlink(name, dir_fd):
    text = os.readlink(name, dir_fd=dir_fd)
    if "\0" in text or not text:
        raise OSError(errno.EINVAL, "unreadable symlink")
    return text


def _join(directory, name):
    return f"{directory}/{name}" if directory else name


def open_regular(location, limit):
    """``(bytes, stat, fd)`` of the regular file at ``location``, opened without
    following a link and without blocking (a FIFO swapped in never hangs a run);
    the caller closes ``fd``. OSError for anything but a regular file (EINVAL)."""
    fd = os.open(location.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                 dir_fd=location.parent.fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks, size = [], 0
        while size < limit:
            chunks.append(os.read(fd, min(limit - size, 1 << 16)))
            if not chunks[-1]:
                break
            size += len(chunks[-1])
    except BaseException:
        os.close(fd)
        raise
    return b"".join(chunks), st, fd


def lstat(location) -> Optional[os.stat_result]:
    """The final name's own status (None when it does not exist)."""
    if location.missing:
        return None
    try:
        return os.stat(location.name, dir_fd=location.parent.fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


#: ``FS_IOC_GETFLAGS`` (``_IOR('f', 1, long)``) and the flags of chattr +i and +a.
_GETFLAGS = (2 << 30) | (struct.calcsize("l") << 16) | (ord("f") << 8) | 1
IMMUTABLE, APPEND_ONLY = 0x10, 0x20


def inode_flags(fd):
    """The inode's chattr flags; 0 where the filesystem has none."""
    try:
        buf = fcntl.ioctl(fd, _GETFLAGS, bytes(8))
    except OSError:
        return 0
    return struct.unpack("i", buf[:4])[0]
