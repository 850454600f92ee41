"""The only code that touches the target root filesystem.

Promises, each tested:
- confined: every path is resolved inside the rootfs, symlinks included
  (absolute ones are re-rooted at the rootfs, ``..`` may not climb above it,
  loops are detected); a path that would leave it is refused;
- atomic per file: temp file in the same directory, fsync, rename;
- all or nothing: if any change fails, the changes already made in this run
  are undone (old files come back through hard-link backups, which need no free
  space), so the rootfs is as it was;
- idempotent: unchanged files are not touched, appends add only missing lines;
- serialised: an exclusive lock on the rootfs directory itself (no lock file
  is left behind) keeps two runs from interleaving;
- not cut short: SIGTERM, SIGHUP and SIGQUIT are held back while the changes
  are made (a few milliseconds) and take effect once the run is whole; after a
  SIGKILL or a power cut each file is still either old or new, and the next
  run removes the temporary files left behind.
"""
import errno
import fcntl
import logging
import os
import re
import stat
import sys
import time
from dataclasses import dataclass, field
from typing import List, Optional

from packetnetworking.tasks import APPEND, DELETE, WRITE
from packetnetworking.errors import TargetError

log = logging.getLogger(__name__)

UNCHANGED = "unchanged"
MAX_SYMLINKS = 40
MAX_EXISTING_BYTES = 16 * 1024 * 1024
LOCK_TIMEOUT = 120
DIR_MODE = 0o755


@dataclass
class Change:
    """One planned change of one path."""

    path: str                # relative to the rootfs, as the task named it
    action: str              # write / append / delete / unchanged
    target: str = ""         # absolute host path after resolution
    new: Optional[bytes] = None
    old: Optional[bytes] = None
    old_stat: Optional[os.stat_result] = None
    mode: int = 0o644
    missing_dirs: List[str] = field(default_factory=list)

    def diff(self):
        import difflib  # only --dry-run shows diffs

        old = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = (b"" if self.action == DELETE else self.new or b"").decode(
            "utf-8", "replace").splitlines(keepends=True)
        if self.action == DELETE and self.old_stat is not None and stat.S_ISLNK(self.old_stat.st_mode):
            return f"--- a/{self.path}\n+++ /dev/null\n-> symlink\n"
        lines = difflib.unified_diff(old, new, f"a/{self.path}",
                                     "/dev/null" if self.action == DELETE else f"b/{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in lines)


@dataclass
class WriteResult:
    """What ``apply`` did."""

    rootfs: str
    changes: List[Change]

    @property
    def changed(self):
        return [c for c in self.changes if c.action != UNCHANGED]


def apply(rootfs, rendered, dry_run=False):
    """Plan every change, then (unless ``dry_run``) make them all or none."""
    root = _open_root(rootfs)
    try:
        lock_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as err:
        raise TargetError(f"cannot open the root filesystem {root}: {err.strerror}") from None
    try:
        _lock(lock_fd, root)
        changes = [_plan(root, path, rendered[path]) for path in sorted(rendered)]
        _refuse_aliases(changes)
        if not dry_run:
            if any(change.action != UNCHANGED for change in changes):
                with _signals_held():
                    _commit(root, changes)
            _remove_stale_temporaries(changes)
        return WriteResult(root, changes)
    finally:
        _close_quietly(lock_fd)  # also releases the lock


def _refuse_aliases(changes):
    """Two paths that are one file in the target (``etc/hosts -> hostname``): writing both
    would silently leave only the second; the target is broken, say so."""
    seen = {}
    for change in changes:
        other = seen.setdefault(change.target, change.path)
        if other != change.path:
            raise TargetError(f"{other} and {change.path} are the same file in the target "
                              "(through a symlink)", "fix the symlinks in the target")


#: Signals that would stop the process between two files; held during the commit.
HELD_SIGNALS = ("SIGTERM", "SIGHUP", "SIGQUIT")


class _signals_held:
    """Block HELD_SIGNALS while the changes are made; a pending one is delivered after."""

    def __enter__(self):
        import signal

        self.signal = signal
        try:
            held = {getattr(signal, name) for name in HELD_SIGNALS}
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
        except (AttributeError, OSError, ValueError):
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            self.signal.pthread_sigmask(self.signal.SIG_SETMASK, self.previous)
        return False


_TEMPORARY = re.compile(r"\..+\.pn-(new|backup)-[0-9]+-[0-9a-f]{8}")


def _is_temporary(name):
    """Whether ``name`` is one of ``_temp_name``'s: ``.FILE.pn-new-PID-8HEX`` or
    ``.FILE.pn-backup-PID-8HEX``."""
    return _TEMPORARY.fullmatch(name) is not None


def _remove_stale_temporaries(changes):
    """Temporary files of a run killed mid-way (SIGKILL, power cut) in the directories
    this run wrote: under the lock no other run owns them."""
    for directory in sorted({os.path.dirname(c.target) for c in changes if c.target}):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if _is_temporary(name):
                path = os.path.join(directory, name)
                try:
                    if stat.S_ISREG(os.lstat(path).st_mode) or os.path.islink(path):
                        os.unlink(path)
                        log.info("removed %s, left by an interrupted run", path)
                except OSError as err:
                    log.info("could not remove %s: %s", path, err.strerror)


def _open_root(rootfs):
    try:
        st = os.stat(rootfs)
    except OSError as err:
        raise TargetError(f"root filesystem {rootfs!r}: {err.strerror}",
                          "mount the target and pass its path with -t") from None
    if not stat.S_ISDIR(st.st_mode):
        raise TargetError(f"root filesystem {rootfs!r} is not a directory",
                          "pass the mounted target's directory with -t")
    return os.path.realpath(rootfs)


def _lock(fd, root):
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise TargetError(f"cannot lock {root}: {err.strerror}") from None
            if time.monotonic() > deadline:
                raise TargetError(f"another packet-networking run holds {root} for more than "
                                  f"{LOCK_TIMEOUT}s", "wait for it to finish") from None
            time.sleep(0.05)


def resolve(root, relpath, follow_final=True):
    """Resolve ``relpath`` inside ``root`` as the target OS would see it.

    Returns ``(host path, directories to create)``. Raises TargetError for a
    path that leaves the root, a symlink loop, or a file where a directory is
    expected.
    """
    if "\0" in relpath or relpath.startswith("/") or not relpath.strip("/"):
        raise TargetError(f"refusing unsafe target path {relpath!r}")
    pending = [p for p in relpath.split("/")]
    cur = root
    missing = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if cur == root:
                raise TargetError(f"{relpath}: a path in the target leads outside the root "
                                  f"filesystem {root}", "fix the symlinks in the target")
            if missing and missing[-1] == cur:
                missing.pop()
            cur = os.path.dirname(cur)
            continue
        candidate = os.path.join(cur, part)
        is_final = not any(p not in ("", ".") for p in pending)
        if missing:  # below a directory that does not exist yet
            if not is_final:
                missing.append(candidate)
            cur = candidate
            continue
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            if not is_final:
                missing.append(candidate)
            cur = candidate
            continue
        except OSError as err:
            raise TargetError(f"{relpath}: cannot inspect {candidate}: {err.strerror}") from None
        if stat.S_ISLNK(st.st_mode) and (follow_final or not is_final):
            links += 1
            if links > MAX_SYMLINKS:
                raise TargetError(f"{relpath}: too many levels of symbolic links in the target "
                                  "(a symlink loop)", "fix the symlinks in the target")
            try:
                link = os.readlink(candidate)
            except OSError as err:
                raise TargetError(f"{relpath}: cannot read the symlink {candidate}: "
                                  f"{err.strerror}") from None
            if "\0" in link:
                raise TargetError(f"{relpath}: unreadable symlink {candidate}")
            if link.startswith("/"):
                cur = root
            pending[0:0] = link.split("/")
            continue
        if not is_final and not stat.S_ISDIR(st.st_mode):
            raise TargetError(f"{relpath}: {os.path.relpath(candidate, root)} in the target is "
                              "not a directory", "remove or fix it in the target")
        cur = candidate
    if cur == root:
        raise TargetError(f"{relpath}: resolves to the root filesystem itself")
    return cur, missing


def _plan(root, path, rendered):
    target, missing = resolve(root, path, follow_final=rendered.action != DELETE)
    change = Change(path=path, action=rendered.action, target=target, mode=rendered.mode,
                    missing_dirs=missing)
    try:
        change.old_stat = os.lstat(target) if not missing else None
    except FileNotFoundError:
        change.old_stat = None
    except OSError as err:
        raise TargetError(f"{path}: cannot inspect {target}: {err.strerror}") from None
    old = change.old_stat
    if rendered.action == DELETE:
        if old is None:
            change.action = UNCHANGED
        elif stat.S_ISDIR(old.st_mode):
            raise TargetError(f"{path}: is a directory in the target, expected a file to remove")
        elif stat.S_ISREG(old.st_mode):
            change.old = _read(target, path)
        return change
    if old is not None:
        if not stat.S_ISREG(old.st_mode):
            raise TargetError(f"{path}: exists in the target but is not a regular file",
                              "remove or fix it in the target")
        change.old = _read(target, path)
    new = rendered.content.encode("utf-8")
    if rendered.action == APPEND:
        new = _appended(change.old or b"", new)
    change.new = new
    if old is not None and change.old == new and (
            rendered.action == APPEND or stat.S_IMODE(old.st_mode) == rendered.mode):
        change.action = UNCHANGED
    if rendered.action == APPEND and old is not None:
        change.mode = stat.S_IMODE(old.st_mode)
    return change


def _appended(old, addition):
    present = {line.strip() for line in old.splitlines()}
    extra = [line for line in addition.splitlines() if line.strip() and line.strip() not in present]
    if not extra:
        return old
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return old + b"\n".join(extra) + b"\n"


def _read(target, path):
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        raise TargetError(f"{path}: cannot read {target}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_EXISTING_BYTES + 1)
    except OSError as err:
        raise TargetError(f"{path}: cannot read {target}: {err.strerror}") from None
    if len(data) > MAX_EXISTING_BYTES:
        raise TargetError(f"{path}: {target} is larger than {MAX_EXISTING_BYTES} bytes")
    return data


class _Journal:
    """Undo steps for the changes made so far, run in reverse on failure."""

    def __init__(self):
        self.undo = []
        self.backups = []

    def rollback(self):
        failures = []
        for step in reversed(self.undo):
            try:
                step()
            except OSError as err:
                failures.append(str(err))
        return failures

    def discard_backups(self):
        for backup in self.backups:
            try:
                os.unlink(backup)
            except OSError as err:
                log.warning("could not remove backup %s: %s", backup, err.strerror)


#: fsyncs in flight at once when a run writes several files (see ``_sync_all``).
SYNC_THREADS = 8


def _commit(root, changes):
    """Make ``changes`` in three steps: stage every new file's content under a
    temporary name next to its target (creating missing directories), make all of
    it durable, then swap each one in by rename, path by path. Until the swap
    nothing the target's OS reads has changed; any failure undoes everything."""
    journal = _Journal()
    pending = [c for c in changes if c.action != UNCHANGED]
    staged = {}  # change path -> temporary file holding its new content
    current = None
    try:
        fds = []
        try:
            for change in pending:
                current = change
                _make_dirs(change, journal)
                if change.action != DELETE:
                    tmp, fd = _stage(change)
                    staged[change.path] = tmp
                    fds.append(fd)
            current = None
            _sync_all(fds)
        finally:
            _close_all(fds)
        for change in pending:
            current = change
            if change.action == DELETE:
                _delete(change, journal)
            else:
                _replace(change, journal, staged[change.path])
                del staged[change.path]  # only now: an interrupt before leaves it to clean up
            log.debug("%s %s", change.action, change.path)
    except BaseException as err:
        for tmp in staged.values():  # first: a directory this run made must be empty to go
            _unlink_if_present(tmp)
        failures = journal.rollback()
        for backup in journal.backups:
            _unlink_if_present(backup)
        if not isinstance(err, (OSError, TargetError)):
            raise
        where = current.path if current else "the staged files"
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        if failures:
            raise TargetError(f"cannot write {where}: {reason}; undoing the run also failed "
                              f"({failures[0]}): check the target") from None
        raise TargetError(f"cannot write {where} in the target: {reason}; the root filesystem "
                          "was left as it was", "check that the target is mounted read-write "
                          "and has free space") from None
    journal.discard_backups()
    # One fsync per directory, once every rename is done, makes the new entries durable
    # (each file's data was synced before its rename); the parents of the directories
    # this run created hold their entries.
    _sync_dirs({os.path.dirname(c.target) for c in pending}
               | {os.path.dirname(d) for c in pending for d in c.missing_dirs})


def _make_dirs(change, journal):
    for directory in change.missing_dirs:
        if not os.path.isdir(directory):
            os.mkdir(directory, DIR_MODE)
            journal.undo.append(lambda d=directory: os.rmdir(d))
            os.chmod(directory, DIR_MODE)  # not narrowed by the umask (077: 0700)


def _stage(change):
    """The new content in a temporary file next to the target, not yet synced:
    ``(path, open descriptor)``. The owner of the file it replaces is kept."""
    tmp = _temp_name(change.target, "pn-new")
    old = change.old_stat
    fd = _create(tmp, change.new, change.mode, None if old is None else (old.st_uid, old.st_gid))
    return tmp, fd


def _sync_all(fds):
    """fsync every descriptor before any rename (the data must be durable before a
    name points at it). Several at once, from up to SYNC_THREADS threads: the
    filesystem journal commits concurrent fsyncs together, so a fresh target with
    a hundred files costs a few journal commits instead of a hundred. The first
    error is raised once every fsync under way has ended."""
    if len(fds) < 3:
        for fd in fds:
            os.fsync(fd)
        return
    import threading

    queue, errors, lock = list(reversed(fds)), [], threading.Lock()

    def work():
        while True:
            with lock:
                if errors or not queue:
                    return
                fd = queue.pop()
            try:
                os.fsync(fd)
            except BaseException as err:  # KeyboardInterrupt included: the main thread re-raises
                with lock:
                    errors.append(err)
                return

    started = []
    try:
        for _ in range(min(SYNC_THREADS, len(fds)) - 1):
            thread = threading.Thread(target=work, name="packet-networking-fsync", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no thread to be had (process limits): fewer at once
                break
            started.append(thread)
        work()  # this thread takes its share; all of it if no other one started
    finally:
        with lock:
            queue.clear()  # after an interrupt: no new fsync starts; the running ones end
        for thread in started:
            thread.join()
    if errors:
        raise errors[0]


def _close_all(fds):
    """Close every descriptor; the first error is raised after all are closed, unless
    an exception is already on its way."""
    first = None
    for fd in fds:
        try:
            os.close(fd)
        except OSError as err:
            first = first or err
    if first is not None and sys.exc_info()[0] is None:
        raise first


def _unlink_if_present(path):
    if os.path.lexists(path):
        try:
            os.unlink(path)
        except OSError:
            pass


#: os.link errors meaning "this filesystem has no hard links" (vfat, some FUSE ones).
NO_HARD_LINKS = {errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK,
                 errno.ENOSYS}


def _backup(change, journal):
    """Keep the old file under a temporary name: a hard link (no space needed), or a
    copy where the filesystem has no hard links."""
    backup = _temp_name(change.target, "pn-backup")
    try:
        os.link(change.target, backup, follow_symlinks=False)
    except OSError as err:
        if err.errno not in NO_HARD_LINKS:
            raise
        _copy_backup(change, backup, err)
    journal.backups.append(backup)
    return backup


def _copy_backup(change, backup, link_error):
    old = change.old_stat
    if old is not None and stat.S_ISLNK(old.st_mode):
        os.symlink(os.readlink(change.target), backup)
        return
    if old is None or not stat.S_ISREG(old.st_mode) or change.old is None:
        raise link_error  # a FIFO or device: nothing safe to copy, refuse the change
    _write_new_file(backup, change.old, stat.S_IMODE(old.st_mode), (old.st_uid, old.st_gid))


def _write_new_file(path, data, mode, owner=None):
    """Create ``path`` (it must not exist), write ``data`` with ``mode`` and ``owner``
    (uid, gid), fsync it; on any failure remove it again."""
    fd = _create(path, data, mode, owner)
    try:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        os.unlink(path)
        raise


def _create(path, data, mode, owner=None):
    """Create ``path`` (it must not exist) holding ``data``, with ``mode`` and ``owner``
    (uid, gid); return the open descriptor. On any failure it is closed and removed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            os.fchown(fd, *owner)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        try:
            os.close(fd)
        finally:
            os.unlink(path)
        raise
    return fd


def _replace(change, journal, tmp):
    """Swap the staged file ``tmp`` in at the change's target (the old file kept as a
    backup until the run is whole). On failure ``_commit`` removes ``tmp`` with the
    other staged files."""
    if change.old_stat is not None:
        backup = _backup(change, journal)
        journal.undo.append(lambda: os.rename(backup, change.target))
    else:  # nothing was there: whatever the rename left is this run's
        journal.undo.append(lambda: _unlink_if_present(change.target))
    os.rename(tmp, change.target)


def _delete(change, journal):
    backup = _backup(change, journal)
    journal.undo.append(lambda: os.rename(backup, change.target))
    os.unlink(change.target)


def _temp_name(target, kind):
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{name[:180]}.{kind}-{os.getpid()}-{os.urandom(4).hex()}")


def _sync_dirs(directories):
    for directory in directories:
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            _close_quietly(fd)


def _close_quietly(fd):
    """Close a descriptor that was only read: an error there changes nothing written."""
    try:
        os.close(fd)
    except OSError:
        pass
