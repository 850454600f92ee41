"""All or nothing: the writer's planned changes staged, synced and swapped in, or undone.

``commit(root, changes, written)`` makes the changes the writer planned (writer.py)
through the directory handles of ``root`` (confine.py):

1. check first what would make a change fail half-way: a read-only filesystem, an
   immutable or append-only (``chattr +i``/``+a``) directory or file;
2. create the missing directories, stage every new file (and new symlink) under a
   temporary name next to its target, and fsync them all (several at once);
3. swap them in by rename, path by path; an old file is first kept under a backup
   name (a hard link, which needs no space, or a copy where there are no hard links)
   or, for ``keep_aside`` and ``move-aside``, under its aside name;
4. call ``written()`` (the ``written`` hooks) while everything can still be undone;
5. remove the backups: past this point the run is whole.

Any failure or interrupt before step 5 undoes every change of the run through the
same handles: staged files removed, old files renamed back, created directories
removed. SIGINT, SIGTERM, SIGHUP and SIGQUIT are deferred from step 1 to the end
(a ``written`` hook alone may be interrupted: the run is then undone); the run is
then rolled back if it had not reached step 5, and ``Interrupted`` is raised.
"""
import errno
import logging
import os
import signal
import sys
import threading

from packetnetworking import confine
from packetnetworking.errors import TargetError
from packetnetworking.tasks import DELETE, MOVE_ASIDE, SYMLINK

log = logging.getLogger(__name__)

#: fsyncs in flight at once when a run writes several files (see ``_sync_all``).
SYNC_THREADS = 8
DEFERRED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
#: os.link errors meaning "this filesystem has no hard links" (vfat, some FUSE ones).
NO_HARD_LINKS = {errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK,
                 errno.ENOSYS}


class Interrupted(KeyboardInterrupt):
    """A deferred signal, raised once the target is whole again (old or new)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signal_name = signal.Signals(signum).name


class _Journal:
    """Undo steps of the changes made so far, run in reverse on failure."""

    def __init__(self):
        self.staged = {}    # id(change) -> (Dir, temporary name) not swapped in yet
        self.undo = []      # callables
        self.backups = []   # (Dir, name) of old files kept until the run is whole
        self.created = []   # the parent Dir of each directory the run created
        self.where = "the staged files"

    def rollback(self):
        failures = []
        for directory, name in self.staged.values():  # first: created directories must go
            _unlink_quietly(directory, name)
        for step in reversed(self.undo):
            try:
                step()
            except OSError as err:
                failures.append(str(err))
        for directory, name in self.backups:
            _unlink_quietly(directory, name)
        return failures


class _Deferred:
    """Record DEFERRED_SIGNALS instead of acting on them (the main thread's handlers);
    elsewhere they are blocked and take their usual effect afterwards."""

    def __enter__(self):
        self.received, self.saved, self.mask, self.raising = [], {}, None, False
        signums = [getattr(signal, name) for name in DEFERRED_SIGNALS]
        if threading.current_thread() is not threading.main_thread():
            self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
            return self
        try:
            for signum in signums:
                self.saved[signum] = signal.signal(signum, self._record)
        except BaseException:  # Ctrl-C before all were in place: put the others back
            self.__exit__()
            raise
        return self

    def _record(self, signum, frame):
        self.received.append(signum)
        if self.raising:
            raise Interrupted(signum)

    def check(self):
        if self.received:
            raise Interrupted(self.received[0])

    def __exit__(self, *exc):
        for signum, handler in self.saved.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if self.mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)
        return False


def commit(root, changes, written=None):
    """Make ``changes`` (writer.Change, none unchanged) all or none; ``written()`` is
    called once they are all in place, before they become final."""
    if not changes:
        if written is not None:
            written()
        return
    journal = _Journal()
    with _Deferred() as signals:
        try:
            _preflight(changes)
            _stage_all(root, changes, journal, signals)
            signals.check()
            for change in changes:
                journal.where = change.path
                _swap(change, journal)
                log.debug("%s %s", change.action, change.path)
            if written is not None:
                signals.raising = True
                try:
                    written()
                finally:
                    signals.raising = False
            signals.check()
        except BaseException as err:
            _undo(journal, err, signals.received)
        for directory, name in journal.backups:  # the point of no return
            try:
                os.unlink(name, dir_fd=directory.fd)
            except OSError as err:  # the next run removes it
                log.warning("could not remove the backup %s in %s: %s", name,
                            directory.path or "the root", err.strerror)
        _sync_dirs([c.dir for c in changes] + journal.created)
    signals.check()  # arrived after the point of no return: the run is whole and new


def _undo(journal, err, received):
    """Roll back, then raise what the run ends with: a failing rollback first, then an
    interrupt (the operator asked to stop), then the error that stopped the run."""
    failures = journal.rollback()
    reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    if failures:
        raise TargetError(f"cannot write {journal.where}: {reason}; undoing the run also "
                          f"failed ({failures[0]}): check the target") from None
    if received and not isinstance(err, KeyboardInterrupt):
        log.info("interrupted while %s failed (%s); the run was undone", journal.where, reason)
        raise Interrupted(received[0]) from None
    if isinstance(err, OSError):
        raise TargetError(f"cannot write {journal.where} in the target: {reason}; the root "
                          "filesystem was left as it was", "check that the target is mounted "
                          "read-write and has free space") from None
    raise err


def _preflight(changes):
    """Refuse, before the first change, what would fail half-way and could leave files
    behind (an append-only directory takes new names but lets none go)."""
    directories = {id(c.location.parent): c.location.parent for c in changes}
    for directory in directories.values():
        name = directory.path or "the root filesystem"
        if os.fstatvfs(directory.fd).f_flag & os.ST_RDONLY:
            raise TargetError(f"{name} is on a read-only filesystem (Read-only file system); "
                              "the root filesystem was left as it was",
                              "mount the target read-write")
        _refuse_flags(name, confine.inode_flags(directory.fd))
    for change in changes:
        _refuse_flags(change.resolved, change.flags)


def _refuse_flags(name, flags):
    for flag, what, letter in ((confine.IMMUTABLE, "immutable", "i"),
                               (confine.APPEND_ONLY, "append-only", "a")):
        if flags & flag:
            raise TargetError(f"{name} in the target is {what} (chattr +{letter}); the root "
                              "filesystem was left as it was", f"chattr -{letter} it first")


def _stage_all(root, changes, journal, signals):
    fds = []
    try:
        for change in changes:
            journal.where = change.path
            change.dir = root.make_dirs(change.location, lambda parent, name: (
                journal.created.append(parent),
                journal.undo.append(lambda: os.rmdir(name, dir_fd=parent.fd))))
            fd = None if change.action in (DELETE, MOVE_ASIDE) else _stage(change, journal)
            if fd is not None:  # None: nothing staged, or a symlink
                fds.append(fd)
            signals.check()
        journal.where = "the staged files"
        _sync_all(fds)
    finally:
        _close_all(fds)


def _stage(change, journal):
    """The new content (or link) under a temporary name in its directory, not yet
    synced: the open descriptor (None for a link). Owner, extended attributes and
    mode are set before the content is synced."""
    tmp, fd = _temp_name(change.location.name, "pn-new"), None
    if change.action == SYMLINK:
        os.symlink(change.link, tmp, dir_fd=change.dir.fd)
    else:
        fd = _create(change.dir, tmp, change.new, change.mode, change)
    journal.staged[id(change)] = (change.dir, tmp)
    return fd


def _create(directory, name, data, mode, change):
    """Create ``name`` (it must not exist) holding ``data`` with ``mode`` and the old
    file's owner and extended attributes; the open descriptor."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=directory.fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        old = change.old_stat
        if old is not None:
            os.fchown(fd, old.st_uid, old.st_gid)  # first: chown clears some attributes
        for key, value in change.xattrs.items():
            try:
                os.setxattr(fd, key, value)
            except OSError as err:
                log.warning("%s: the extended attribute %s could not be kept: %s",
                            change.resolved, key, err.strerror)
        os.fchmod(fd, mode)
    except BaseException:
        try:
            os.close(fd)
        finally:
            os.unlink(name, dir_fd=directory.fd)
        raise
    return fd


def _swap(change, journal):
    directory, name = change.dir, change.location.name
    fd = directory.fd
    if change.action == DELETE:
        backup = _temp_name(name, "pn-backup")
        os.rename(name, backup, src_dir_fd=fd, dst_dir_fd=fd)
        journal.backups.append((directory, backup))
        journal.undo.append(lambda: os.rename(backup, name, src_dir_fd=fd, dst_dir_fd=fd))
        return
    if change.action == MOVE_ASIDE:
        aside = change.aside.rpartition("/")[2]
        restore = lambda: os.rename(aside, name, src_dir_fd=fd, dst_dir_fd=fd)  # noqa: E731
        if _keep(change, journal, aside, copy=False):
            os.unlink(name, dir_fd=fd)
            journal.undo[-1] = restore
        else:  # no hard links here: the name itself moves, onto a name that is free
            if confine.lstat(confine.Location(directory, [], aside)) is not None:
                raise FileExistsError(errno.EEXIST, f"{change.aside} appeared during the run")
            os.rename(name, aside, src_dir_fd=fd, dst_dir_fd=fd)
            journal.undo.append(restore)
        log.info("moved %s aside to %s", change.resolved, change.aside)
        return
    tmp = journal.staged[id(change)][1]
    if change.old_stat is None:  # nothing was there: whatever the rename leaves is this run's
        os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        del journal.staged[id(change)]
        journal.undo.append(lambda: _unlink_quietly(directory, name))
        return
    if change.aside:
        keep = change.aside.rpartition("/")[2]
        log.info("keeping %s as %s", change.resolved, change.aside)
    else:
        keep = _temp_name(name, "pn-backup")
        journal.backups.append((directory, keep))
    _keep(change, journal, keep, copy=True)
    os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    del journal.staged[id(change)]
    journal.undo[-1] = lambda: os.rename(keep, name, src_dir_fd=fd, dst_dir_fd=fd)


def _keep(change, journal, keep, copy):
    """Keep the old file under ``keep`` too: a hard link (no space needed), else a copy
    when ``copy``; the undo step (remove ``keep``) is the journal's last. False when
    there are no hard links and no copy was asked."""
    directory, name = change.dir, change.location.name
    try:
        os.link(name, keep, src_dir_fd=directory.fd, dst_dir_fd=directory.fd,
                follow_symlinks=False)
    except OSError as err:
        if err.errno not in NO_HARD_LINKS:
            raise
        if not copy:
            return False
        _copy_old(change, keep, err)
    journal.undo.append(lambda: os.unlink(keep, dir_fd=directory.fd))
    return True


def _copy_old(change, keep, link_error):
    directory, old = change.dir, change.old_stat
    if change.old_link:
        os.symlink(change.old_link, keep, dir_fd=directory.fd)
        return
    if change.old is None:
        raise link_error  # a FIFO or device: nothing safe to copy, refuse the change
    fd = _create(directory, keep, change.old, old.st_mode & 0o7777, change)
    try:
        os.fsync(fd)
    except BaseException:
        os.unlink(keep, dir_fd=directory.fd)
        raise
    finally:
        os.close(fd)


def _sync_all(fds):
    """fsync every descriptor before any rename (the data must be durable before a
    name points at it). Several at once, from up to SYNC_THREADS threads: the
    filesystem journal commits concurrent fsyncs together (docs/performance.md).
    The first error is raised once every fsync under way has ended."""
    if len(fds) < 3:
        for fd in fds:
            os.fsync(fd)
        return
    queue, errors, lock = list(reversed(fds)), [], threading.Lock()

    def work():
        while True:
            with lock:
                if errors or not queue:
                    return
                fd = queue.pop()
            try:
                os.fsync(fd)
            except BaseException as err:  # the main thread re-raises it
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
            queue.clear()
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


def _sync_dirs(directories):
    """One fsync per directory once every rename is done makes the new names durable
    (each file's data was synced before its rename)."""
    for directory in {id(d): d for d in directories}.values():
        try:
            os.fsync(directory.fd)
        except OSError:
            pass


def _unlink_quietly(directory, name):
    try:
        os.unlink(name, dir_fd=directory.fd)
    except OSError:
        pass


def _temp_name(name, kind):
    return f".{name[:180]}.{kind}-{os.getpid()}-{os.urandom(4).hex()}"

