"""Tasks (what a NetworkBuilder asks for one path) and the file operations they become.

A leaf module: the writer reads ``FileOp`` and the action names from here, the
builders create ``Task`` values; it imports nothing from the package.

Actions:

- ``write``: the file holds ``content`` with ``mode`` (``keep_aside``: an existing
  file the tool did not write is first kept under ``path + ASIDE_SUFFIX``);
- ``append``: the lines of ``content`` that the file does not hold yet are added;
- ``delete``: the file is removed (nothing happens if it is absent);
- ``symlink``: ``path`` becomes a symbolic link to ``link`` (as ``systemctl
  enable`` makes them in ``.wants/`` folders);
- ``move-aside``: the file is renamed to ``path + ASIDE_SUFFIX`` so that no
  network stack reads it any more; it can be renamed back by hand.
"""
from dataclasses import dataclass, field
from typing import Optional

WRITE, APPEND, DELETE, SYMLINK, MOVE_ASIDE = "write", "append", "delete", "symlink", "move-aside"

#: Files the tool moves out of a stack's way keep their name plus this suffix. It ends
#: in ``.bak``, which ifcfg-rh, initscripts, wicked and NetworkManager's keyfile
#: plugin skip; netplan reads ``*.yaml`` only, networkd its own extensions, and
#: ifupdown's ``source-directory`` skips names with a dot.
ASIDE_SUFFIX = ".packet-networking.bak"


@dataclass(frozen=True)
class Task:
    """What to do with one path: render ``template`` (or use ``content``), delete,
    link or move aside.

    ``append`` adds the rendered lines that the file does not hold yet, so a
    second run adds nothing. ``context`` (extra template variables) is not compared.
    """

    template: Optional[str] = None
    mode: int = 0o644
    append: bool = False
    content: Optional[str] = None
    delete: bool = False
    context: Optional[dict] = field(default=None, compare=False)
    symlink: Optional[str] = None
    move_aside: bool = False
    keep_aside: bool = False

    @property
    def action(self):
        if self.delete:
            return DELETE
        if self.move_aside:
            return MOVE_ASIDE
        if self.symlink is not None:
            return SYMLINK
        return APPEND if self.append else WRITE


@dataclass(frozen=True)
class FileOp:
    """One rendered task, as the writer takes it."""

    action: str
    content: str = ""
    mode: int = 0o644
    link: str = ""
    keep_aside: bool = False

