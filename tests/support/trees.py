"""The files a run produced, as the RedHat and SUSE tests read them."""
import os
from pathlib import Path

from support.helpers import parse_kv


class Tree:
    """The files a run produced: text, KEY=value view, mode, what exists, what was deleted.

    Built from the rendered tasks (fast, no disk) or from a root the writer filled.
    """

    def __init__(self, files, deleted=(), root=None):
        self._files = files          # {relpath: (text, mode)}
        self.deleted = set(deleted)
        self.root = root

    @classmethod
    def from_rendered(cls, rendered):
        files = {p: (r.content, r.mode) for p, r in rendered.items() if r.action != "delete"}
        return cls(files, [p for p, r in rendered.items() if r.action == "delete"])

    @classmethod
    def from_disk(cls, root):
        root = Path(root)
        files = {str(p.relative_to(root)): (p.read_text(), p.stat().st_mode & 0o7777)
                 for p in root.rglob("*") if p.is_file() and not p.is_symlink()}
        return cls(files, root=root)

    def exists(self, rel):
        if self.root is not None:
            return os.path.lexists(self.root / rel)
        return rel in self._files

    def text(self, rel):
        return self._files[rel][0]

    def kv(self, rel):
        return parse_kv(self.text(rel))

    def mode(self, rel):
        return self._files[rel][1]

    def files(self):
        return sorted(self._files)
