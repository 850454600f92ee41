"""What the tool wrote in a target, so that a later run can remove what it no longer writes.

``var/lib/packet-networking/manifest.json`` in the target (``var/lib`` holds
state that programs keep across reboots; nothing else reads the file) lists,
after every run that writes:

- ``files``: each file the run wrote whole (``write``), with the SHA-256 of its
  content;
- ``links``: each symlink the run made (enabled units), with its target.

Files the tool appends to (``etc/modules``, ``mdev.conf``) are the image's, and
files it moves aside stay the image's: neither is listed.

A later run compares (``Manifest.check``) and, for each entry it no longer
writes (``Manifest.finish``):

- removes it when the file still has the listed content (the link still points
  where it did): ``05-packet-<old name>.network`` after a NIC was renamed, the
  old stack's files after a stack switch, a unit's links after another stack
  was chosen. A builder may keep a path it leaves alone (``NetworkBuilder.keep``:
  ``etc/resolv.conf`` when no nameserver is known), and a file another stack's
  ``RendererConfig`` rewrites rather than moves aside (``etc/network/interfaces``
  is reduced to loopback) is rewritten instead;
- leaves it, with a WARNING, when it changed since: someone else edited it, so it
  is no longer the tool's to remove.

The entries depend on what the run writes only, never on what the target held
before, so a run cut short (SIGKILL, power cut) and run again records exactly
what an uninterrupted run records. The manifest is written through the same
transaction as everything else (a task like any other). A manifest that cannot
be read is ignored with a WARNING (then nothing is removed).
"""
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Dict

from packetnetworking.tasks import DELETE, SYMLINK, WRITE, FileOp

log = logging.getLogger(__name__)

PATH = "var/lib/packet-networking/manifest.json"
VERSION = 1
MAX_BYTES = 4 * 1024 * 1024
#: The states ``check`` reports for an entry.
OURS, CHANGED, GONE = "ours", "changed", "gone"


def digest(data):
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One path the tool wrote: a file (``sha256``) or a symlink (``link``)."""

    sha256: str = ""
    link: str = ""


@dataclass
class Manifest:
    entries: Dict[str, Entry] = field(default_factory=dict)

    @classmethod
    def load(cls, target):
        data = target.read_bytes(PATH, limit=MAX_BYTES + 1) if target is not None else None
        if data is None:
            return cls()
        try:
            doc = json.loads(data.decode("utf-8"))
            if doc.get("version") != VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {VERSION}")
            entries = {}
            for path, value in doc.get("files", {}).items():
                entries[str(path)] = Entry(sha256=str(value))
            for path, link in doc.get("links", {}).items():
                entries[str(path)] = Entry(link=str(link))
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            log.warning("%s in the target cannot be read (%s): ignored, so no file of an "
                        "earlier run is removed", PATH, err)
            return cls()
        return cls(entries)

    def check(self, target):
        """``{path: OURS | CHANGED | GONE}`` for every entry, as the target is now."""
        states = {}
        for path, entry in self.entries.items():
            if entry.link:
                now = target.readlink(path)
                states[path] = GONE if now is None else OURS if now == entry.link else CHANGED
                continue
            if target.readlink(path) is not None:  # a symlink now stands there
                states[path] = CHANGED
                continue
            data = target.read_bytes(path, limit=MAX_BYTES + 1)
            if data is None:
                states[path] = GONE if not target.lexists(path) else CHANGED
            else:
                states[path] = OURS if digest(data) == entry.sha256 else CHANGED
        return states

    def removable(self, states):
        """Paths whose content (link) is still what an earlier run wrote."""
        return {path for path, state in states.items() if state == OURS}

    def finish(self, rendered, states, kept=()):
        """``{path: FileOp}`` to add to ``rendered`` (path -> FileOp of this run): the
        removals of what earlier runs wrote and this run neither writes nor ``kept``,
        and the new manifest."""
        ops = {}
        for path in sorted(self.entries):
            if path in rendered or path in kept:
                continue
            state = states.get(path, GONE)
            if state == OURS:
                ops[path] = FileOp(DELETE)
                log.info("%s removed: an earlier run wrote it and this one does not", path)
            elif state == CHANGED:
                log.warning("%s was written by an earlier run and changed since: left as it "
                            "is (this run does not write it)", path)
        files, links = {}, {}
        for path in kept:  # left alone by this run: still the tool's to remove later
            entry = self.entries.get(path)
            if entry is not None and states.get(path) == OURS and path not in rendered:
                (links.__setitem__(path, entry.link) if entry.link
                 else files.__setitem__(path, entry.sha256))
        for path, op in sorted(rendered.items()):
            if path == PATH:
                continue
            if op.action == WRITE:
                files[path] = digest(op.content.encode("utf-8"))
            elif op.action == SYMLINK:
                links[path] = op.link
        doc = {
            "comment": "Files packet-networking wrote in this root: a later run removes "
                       "those it no longer writes if they are unchanged (docs/distros.md).",
            "version": VERSION, "files": files, "links": links,
        }
        ops[PATH] = FileOp(WRITE, json.dumps(doc, indent=1, sort_keys=True) + "\n", 0o644)
        return ops
