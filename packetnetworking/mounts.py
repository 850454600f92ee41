"""Which mounts met inside the target belong to the host (see ``confine``).

A mount crossed inside the target is the host's when its content is also
reachable outside the target: another mount of the same filesystem
(``/proc/self/mountinfo``) shows the mounted directory at a place outside the
target. A whole filesystem mounted only inside the target (the image's own
``/boot``) is the image's.

A chroot hides what lies outside it: mountinfo lists only the mounts inside the
process's root, so the filesystem the chroot itself lives on is not listed, and a
directory of it bind-mounted into the target cannot be seen elsewhere. There, a
mount of the root's filesystem is the host's unless its directory is one of the
target's own (its path in that filesystem ends in the target's path and below). Without ``/proc`` nothing can be told, and every mount inside the
target is treated as the host's.
"""
import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo: ``device`` "major:minor", ``root`` the
    directory of that filesystem shown at ``point``."""

    id: int
    device: str
    root: str
    point: str


def mount_id(fd):
    """The mount ID of the file open at ``fd``; without /proc, minus one minus its
    device (so that a crossing is still seen)."""
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
            for line in f:
                if line.startswith(b"mnt_id:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1 - os.fstat(fd).st_dev


class HostMounts:
    """Judges each mount once, reading the mount table at the first one asked about."""

    def __init__(self):
        self._table = None
        self._hidden_root = None  # the device of a chroot's root, missing from the table
        self._why = {}

    def why(self, mount, top):
        """Why mount ``mount`` is the host's ("" when it is the image's); ``top`` is the
        target's path as this process sees it."""
        if mount not in self._why:
            if self._table is None:
                self._table = mount_table()
                self._hidden_root = _root_device_when_hidden(self._table)
            self._why[mount] = self._judge(self._table.get(mount), top.rstrip("/") + "/")
        return self._why[mount]

    def _judge(self, mine, top):
        """``top``: the target's path with one trailing slash."""
        if mine is None:
            return "it is a mount point whose owner cannot be told (no /proc/self/mountinfo)"
        seen_inside = False
        for other in self._table.values():
            if other.id == mine.id or other.device != mine.device:
                continue
            seen = _seen_through(other, mine.root)
            if seen is None:
                continue
            if not f"{seen}/".startswith(top):
                return f"it is a mount of the host's {seen}"
            seen_inside = True
        if not seen_inside and mine.device == self._hidden_root and top not in f"{mine.root}/":
            # The chroot sits somewhere in that filesystem: a directory of the target
            # shows up in ``root`` as the chroot's place followed by the target's path.
            return ("it is a mount of the filesystem this chroot lives on, from a place "
                    "outside the target")
        return ""


def _root_device_when_hidden(table):
    """The device ("major:minor") of this process's root when the mount table does not
    list the root's mount (a chroot); None otherwise."""
    try:
        fd = os.open("/", os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if mount_id(fd) in table:
            return None
        device = os.fstat(fd).st_dev
    finally:
        os.close(fd)
    return f"{os.major(device)}:{os.minor(device)}"


def mount_table():
    """``{mount ID: Mount}`` from /proc/self/mountinfo; {} when it cannot be read."""
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            text = f.read().decode("utf-8", "surrogateescape")
    except OSError:
        return {}
    table = {}
    for line in text.splitlines():
        fields = line.split(" ")
        if len(fields) > 4 and fields[0].isdigit():
            table[int(fields[0])] = Mount(int(fields[0]), fields[2], _unescape(fields[3]),
                                          _unescape(fields[4]))
    return table


def _unescape(text):
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _seen_through(mount, root):
    """Where the directory ``root`` of ``mount``'s filesystem appears through ``mount``;
    None when ``mount`` shows only another part of that filesystem."""
    rel = os.path.relpath(root, mount.root)
    return None if rel == ".." or rel.startswith("../") else os.path.normpath(
        os.path.join(mount.point, rel))
