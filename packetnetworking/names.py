"""Checks for the names and MACs that go into files: interface and bond names, host
names, MAC addresses. Shared by the metadata and the NIC discovery."""
import re

# Linux interface names: at most 15 bytes; we also refuse anything that could
# break a file name (``/``), a config line (spaces, quotes, ``=``, ``#``) or an
# alias (``:``).
_IFNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
# 12 hex digits, alone or in pairs joined by one separator (``:`` or ``-``) used
# throughout, or three groups of four joined by ``.``.
_MAC = re.compile(r"[0-9a-f]{2}([:-]?)[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}"
                  r"|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")
_NOT_HEX = re.compile(r"[^0-9a-f]")


def normalize_mac(value):
    """Return ``aa:bb:cc:dd:ee:ff`` or None when ``value`` is not a 48-bit MAC."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not _MAC.fullmatch(text):
        return None
    digits = _NOT_HEX.sub("", text)
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


#: Names that are not free for a NIC or a bond: the loopback (ifupdown would bond
#: "iface lo"), the sysctl directories net.ipv*.conf.{all,default} and the bonding
#: driver's /sys/class/net/bonding_masters.
RESERVED_IFNAMES = frozenset({"lo", "all", "default", "bonding_masters"})


def check_ifname(value):
    """True when ``value`` is safe as a Linux interface name in every format."""
    return (isinstance(value, str) and _IFNAME.fullmatch(value) is not None
            and ".." not in value and value not in RESERVED_IFNAMES)


#: A host name label: letters, digits, '_' (systemd accepts it) and '-' inside.
_HOSTNAME_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def check_hostname(value):
    """True for dot-separated labels of letters, digits, '_' and '-' (not at a label's
    ends), at most 253 characters: nothing that could break a file or a shell line."""
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    return all(_HOSTNAME_LABEL.fullmatch(label) for label in value.split("."))
