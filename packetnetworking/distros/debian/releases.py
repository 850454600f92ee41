"""Per-release rules: what differs between versions of one distro, in one table.

A version matches a rule when its leading numbers equal the rule's (``'12.5'``
matches Debian ``12``, ``'22.04.3'`` matches Ubuntu ``22.04``). A version with no
rule gets the newest rule of the table and a WARNING: a new release is far more
likely to behave like the last known one than like the first.
"""
import logging
from dataclasses import dataclass
from typing import Tuple

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Release:
    """What the tool does differently for one release.

    - ``bond_first``: write the bond stanza before its members in
      ``/etc/network/interfaces`` (production's Debian 10 fix; the others keep the
      members first, as ``systemctl restart networking`` failed the other way round);
    - ``resolved``: the nameservers go to ``etc/systemd/resolved.conf`` because
      ``etc/resolv.conf`` is systemd-resolved's stub (Ubuntu 17.10 and later);
    - ``udev_rules``: pin NIC names by MAC in ``70-persistent-net.rules``.
    """

    version: Tuple[int, ...]
    bond_first: bool = False
    resolved: bool = False
    udev_rules: bool = True

    @property
    def name(self):
        return ".".join(f"{part:02d}" if i else str(part) for i, part in enumerate(self.version))

    def matches(self, version_tuple):
        return tuple(version_tuple[:len(self.version)]) == self.version


def match_release(releases, os_info):
    """``(Release, exact)`` for ``os_info``; the newest release (and a warning) if none fits."""
    for release in releases:
        if release.matches(os_info.version_tuple):
            return release, True
    newest = max(releases, key=lambda r: r.version)
    known = ", ".join(r.name for r in sorted(releases, key=lambda r: r.version))
    log.warning("%s %s: no rule for this version (known: %s); using the rules of %s %s",
                os_info.distro, os_info.version or "(no version)", known, os_info.distro,
                newest.name)
    return newest, False


DEBIAN = (
    Release((9,)),
    Release((10,), bond_first=True),
    Release((11,)),
    Release((12,)),
    Release((13,)),
)

UBUNTU = (
    Release((16, 4)),
    Release((18, 4), resolved=True),
    Release((20, 4), resolved=True),
    Release((22, 4), resolved=True),
    Release((24, 4), resolved=True),
)

ALPINE = (
    Release((3,), udev_rules=False),
)
