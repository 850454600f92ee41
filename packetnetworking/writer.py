"""The only code that changes the target root: plan every change, then make them all or none.

Promises, each tested (tests/test_writer.py, tests/hostile/; docs/reliability.md):

- confined: every path is walked from the target root through directory handles,
  symlinks followed inside the root, and every change is made relative to those
  handles (confine.py); a path that would leave the root is refused;
- never into the host: nothing is written under the target's ``run/``, ``proc/``,
  ``sys/``, ``dev/`` or through a mount of the host; a file that is a symlink there
  (``etc/resolv.conf -> /run/...``) is left alone with a WARNING;
- all or nothing, interrupts included (transaction.py): any failure, a failing
  ``written`` hook or a signal undoes every change of the run;
- idempotent: unchanged files are not touched, appends add only missing lines, a
  delete or move-aside of a file that is not there is no change;
- serialised: an exclusive lock on the root directory itself (no lock file is left
  behind) keeps two runs from interleaving; a run holds it (``locked``) from before it
  reads the target to decide what to write until it has written;
- after a SIGKILL or a power cut each file is still either old or new, and the next
  run removes the temporary files left behind.

``apply(rootfs, ops, dry_run=False, on_written=None)`` takes ``{path: tasks.FileOp}``.
"""
import errno
import fcntl
import logging
import os
import re
import stat
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from packetnetworking import confine, transaction
from packetnetworking.errors import TargetError
from packetnetworking.tasks import APPEND, ASIDE_SUFFIX, DELETE, MOVE_ASIDE, SYMLINK, WRITE

log = logging.getLogger(__name__)

UNCHANGED, SKIPPED = "unchanged", "skipped"
ACTIONS = (WRITE, APPEND, DELETE, SYMLINK, MOVE_ASIDE)
MAX_EXISTING_BYTES = 16 * 1024 * 1024
LOCK_TIMEOUT = 120
#: Aside names tried for one file: ``NAME`` + ASIDE_SUFFIX, then ``NAME.1`` + ASIDE_SUFFIX...
MAX_ASIDE = 1000
#: The writer's temporary and backup names (transaction._temp_name).
TEMPORARY = re.compile(r"\..+\.pn-(new|backup)-[0-9]+-[0-9a-f]{8}")


@dataclass(eq=False)
class Change:
    """One planned change of one path."""

    path: str                      # relative to the root, as the task named it
    action: str                    # an action of tasks.py, UNCHANGED or SKIPPED
    resolved: str = ""             # where it leads in the target (symlinks followed)
    new: Optional[bytes] = None
    old: Optional[bytes] = None    # the old content, when it is a regular file
    old_stat: Optional[os.stat_result] = None
    mode: int = 0o644
    link: str = ""                 # symlink: the new link's text
    old_link: str = ""             # the old symlink's text
    aside: str = ""                # move-aside, keep_aside: where the old file goes
    xattrs: Dict[str, bytes] = field(default_factory=dict)
    flags: int = 0                 # the old file's chattr flags
    note: str = ""                 # why it was skipped
    location: Optional[confine.Location] = field(default=None, repr=False)
    dir: Optional[confine.Dir] = field(default=None, repr=False)

    def diff(self):
        """What the change does, as a unified diff (``--dry-run``)."""
        import difflib  # only --dry-run shows diffs
        a, b = f"a/{self.path}", f"b/{self.path}"
        if self.action == MOVE_ASIDE:
            return f"renamed {self.resolved} -> {self.aside}\n"
        if self.action == SYMLINK or self.old_link:
            old = [f"-> {self.old_link}\n"] if self.old_link else self._lines(self.old)
            new = [f"-> {self.link}\n"] if self.action == SYMLINK else []
        else:
            old, new = self._lines(self.old), self._lines(self.new)
        if self.action == DELETE:
            b, new = "/dev/null", []
        elif self.old_stat is None:
            a = "/dev/null"
        text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in difflib.unified_diff(old, new, a, b))
        if self.aside:
            text += f"(the old file is kept as {self.aside})\n"
        return text

    @staticmethod
    def _lines(data):
        return (data or b"").decode("utf-8", "replace").splitlines(keepends=True)


@dataclass
class WriteResult:
    """What ``apply`` did (or, with ``dry_run``, would do)."""

    rootfs: str
    changes: List[Change]

    @property
    def changed(self):
        return [c for c in self.changes if c.action not in (UNCHANGED, SKIPPED)]

    @property
    def unchanged(self):
        """The files already as the run would make them."""
        return [c for c in self.changes if c.action == UNCHANGED and c.old_stat is not None]


#: (st_dev, st_ino) of the roots this process holds the lock of (``locked``).
_HELD = set()


class locked:
    """Hold the root's lock while the run reads the target to decide what to write
    (the manifest, the other stacks' files) and then writes: a second run waits
    before it reads anything. ``apply`` inside it does not lock again. A root that
    cannot be opened is not locked here: ``apply`` says what is wrong with it."""

    def __init__(self, rootfs):
        self.rootfs = rootfs
        self.fd = None

    def __enter__(self):
        try:
            self.fd = os.open(self.rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return self
        try:
            _lock(self.fd, self.rootfs)
        except BaseException:
            os.close(self.fd)
            self.fd = None
            raise
        st = os.fstat(self.fd)
        self.key = (st.st_dev, st.st_ino)
        _HELD.add(self.key)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            _HELD.discard(self.key)
            fd, self.fd = self.fd, None
            try:
                os.close(fd)  # releases the lock
            except OSError:
                pass  # a descriptor only read from: nothing written is at stake
        return False


def apply(rootfs, ops, dry_run=False, on_written=None):
    """Plan every change of ``ops`` (``{path: FileOp}``), then (unless ``dry_run``) make
    them all or none. ``on_written(result)`` is called once every change is in place
    and can still be undone: if it raises, the run is undone and the error re-raised."""
    with confine.Root(rootfs) as root:
        st = os.fstat(root.top.fd)
        if (st.st_dev, st.st_ino) not in _HELD:
            _lock(root.top.fd, rootfs)  # released when the root's handle is closed
        changes = [_plan(root, path, ops[path]) for path in sorted(ops)]
        _refuse_conflicts(changes)
        result = WriteResult(os.path.realpath(rootfs), changes)
        if not dry_run:
            transaction.commit(root, result.changed,
                               on_written and (lambda: on_written(result)))
            _remove_stale_temporaries(root, changes)
        return result


def _lock(fd, rootfs):
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise TargetError(f"cannot lock {rootfs}: {err.strerror}") from None
            if time.monotonic() > deadline:
                raise TargetError(f"another packet-networking run holds {rootfs} for more than "
                                  f"{LOCK_TIMEOUT}s", "wait for it to finish") from None
            time.sleep(0.05)


def _plan(root, path, op):
    if op.action not in ACTIONS:
        raise TargetError(f"{path}: unknown action {op.action!r}")
    try:
        location = root.locate(path, follow=op.action in (WRITE, APPEND))
    except confine.NotADirectory:
        if op.action not in (DELETE, MOVE_ASIDE):
            raise
        return Change(path, UNCHANGED, path)  # a file on the way: the path cannot be there
    change = Change(path, op.action, location.path, mode=op.mode, link=op.link,
                    location=location)
    if location.host:
        return _host(change, location.host)
    try:
        old = change.old_stat = confine.lstat(location)
        if old is not None and stat.S_ISREG(old.st_mode):
            _read_old(root, change)
        elif old is not None and stat.S_ISLNK(old.st_mode):
            change.old_link = os.readlink(location.name, dir_fd=location.parent.fd)
    except OSError as err:
        raise TargetError(f"{path}: cannot read {location.path} in the target: "
                          f"{err.strerror}") from None
    if change.action == SKIPPED:
        return change
    if old is not None and stat.S_ISDIR(old.st_mode) and op.action not in (WRITE, APPEND):
        raise TargetError(f"{path}: {location.path} is a directory in the target, expected a "
                          "file", "remove or fix it in the target")
    if op.action in (DELETE, MOVE_ASIDE):
        if old is None:
            change.action = UNCHANGED
        elif op.action == MOVE_ASIDE:
            change.aside = _aside_name(location)
        return change
    if op.action == SYMLINK:
        if change.old_link == op.link:
            change.action = UNCHANGED
        return change
    if old is not None and not stat.S_ISREG(old.st_mode):
        raise TargetError(f"{path}: {location.path} exists in the target but is not a regular "
                          "file", "remove or fix it in the target")
    new = op.content.encode("utf-8")
    if op.action == APPEND:
        new = _appended(change.old or b"", new)
        change.mode = stat.S_IMODE(old.st_mode) if old is not None else op.mode
    change.new = new
    if old is not None and change.old == new and stat.S_IMODE(old.st_mode) == change.mode:
        change.action = UNCHANGED
    elif old is not None and op.keep_aside:
        change.aside = _aside_name(location)
    return change


def _host(change, why, mounted=False):
    """A path that leads into the running system's state or a mount of the host: a file
    that is a symlink there, or a file mounted over, is left alone; else refused."""
    if not (change.location.via or mounted) or change.action not in (WRITE, APPEND):
        if change.resolved != change.path:
            raise TargetError(f"{change.path}: leads to {change.resolved} in the target, "
                              f"where {why}: nothing is written there",
                              "fix the symlinks in the target")
        raise TargetError(f"{change.path}: {why}: nothing is written there",
                          "unmount it from the target")
    change.action = SKIPPED
    change.note = f"{change.location.via or change.path} left alone: {why}"
    log.warning("%s", change.note)
    return change


def _read_old(root, change):
    """The old regular file's content, chattr flags and extended attributes, read
    through one descriptor (opened without following a link, without blocking)."""
    location = change.location
    data, st, fd = confine.open_regular(location, MAX_EXISTING_BYTES + 1)
    try:
        if (st.st_dev, st.st_ino) != (change.old_stat.st_dev, change.old_stat.st_ino):
            raise TargetError(f"{change.path}: {location.path} changed while it was read",
                              "stop what modifies the target")
        if len(data) > MAX_EXISTING_BYTES:
            raise TargetError(f"{change.path}: {location.path} is larger than "
                              f"{MAX_EXISTING_BYTES} bytes")
        host = root.host_file(fd, location.parent)
        if host:
            _host(change, host.replace("it is", "a file is mounted over it,"), mounted=True)
            return
        change.old, change.flags = data, confine.inode_flags(fd)
        try:
            names = os.listxattr(fd)
        except OSError:
            names = []
        for name in names:
            try:
                change.xattrs[name] = os.getxattr(fd, name)
            except OSError:
                pass
    finally:
        os.close(fd)


def _aside_name(location):
    """The first free name of ``NAME`` + ASIDE_SUFFIX, ``NAME.1`` + ASIDE_SUFFIX..."""
    name = location.name
    for index in range(MAX_ASIDE):
        candidate = f"{name}{ASIDE_SUFFIX}" if index == 0 else f"{name}.{index}{ASIDE_SUFFIX}"
        if confine.lstat(confine.Location(location.parent, [], candidate)) is None:
            return confine.Location(location.parent, [], candidate).path
    raise TargetError(f"{location.path}: {MAX_ASIDE} files are already moved aside next to it",
                      "remove the old ones")


def _appended(old, addition):
    present = {line.strip() for line in old.splitlines()}
    extra = [line for line in addition.splitlines() if line.strip() and line.strip() not in present]
    if not extra:
        return old
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return old + b"\n".join(extra) + b"\n"


def _refuse_conflicts(changes):
    """Two paths that are one file in the target (``etc/hosts -> hostname``), or a file
    this run writes where another path of the run needs a directory (a dangling link
    such as ``etc/systemd -> /etc/sysconfig/network``): the target cannot hold both,
    and a run that wrote one would trip the next one over it. Refused, naming both."""
    files = {}
    for change in changes:
        if change.action != SKIPPED:
            other = files.setdefault(change.resolved, change.path)
            if other != change.path:
                raise TargetError(f"{other} and {change.path} are the same file in the target "
                                  "(through a symlink)", "fix the symlinks in the target")
    for change in changes:
        if change.action in (UNCHANGED, SKIPPED):
            continue
        location = change.location
        for count in range(1, len(location.missing) + 1):
            needed = confine.Location(location.parent, location.missing[:count - 1],
                                      location.missing[count - 1]).path
            if needed in files:
                raise TargetError(f"{change.path} needs {needed} as a directory in the target "
                                  f"(through its symlinks), but {files[needed]} writes it as a "
                                  "file", "fix the symlinks in the target")


def _remove_stale_temporaries(root, changes):
    """Temporary files of a run killed mid-way (SIGKILL, power cut) in the directories
    this run wrote, through the same handles: under the lock no other run owns them."""
    directories = {}
    for change in changes:
        location = change.location
        directory = change.dir or (None if location is None or location.missing
                                   or change.action == SKIPPED else location.parent)
        if directory is not None:
            directories[id(directory)] = directory
    for directory in directories.values():
        try:
            names = os.listdir(directory.fd)
        except OSError:
            continue
        for name in names:
            if not TEMPORARY.fullmatch(name):
                continue
            where = f"{directory.path}/{name}" if directory.path else name
            try:
                st = os.stat(name, dir_fd=directory.fd, follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    os.unlink(name, dir_fd=directory.fd)
                    log.info("removed %s, left by an interrupted run", where)
            except OSError as err:
                log.info("could not remove %s: %s", where, err.strerror)

