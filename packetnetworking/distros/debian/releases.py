"""Debian and Ubuntu: what differs between releases, one rule per release.

The fields are those of ``packetnetworking.releases.Release`` (``bond_first``,
``resolved``); the matcher there picks the rule for a version.
"""
from packetnetworking.releases import Release

DEBIAN = (
    Release((9,)),
    Release((10,), bond_first=True),
    Release((11,)),
    Release((12,)),
    Release((13,)),
)

#: 17.10 is the first release whose etc/resolv.conf is systemd-resolved's stub.
UBUNTU = (
    Release((16, 4)),
    Release((17, 10), resolved=True),
    Release((18, 4), resolved=True),
    Release((20, 4), resolved=True),
    Release((22, 4), resolved=True),
    Release((24, 4), resolved=True),
)
