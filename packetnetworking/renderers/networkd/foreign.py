"""What systemd-networkd reads and runs, and which of its files configure this run's devices.

Files: ``etc/systemd/network/*.network`` and ``*.netdev`` (the image's and the
administrator's; ``lib/`` and ``run/`` belong to packages and generators).
``.link`` files only name devices (udev applies them whatever the stack) and
are left alone.

- A ``.network`` file configures one of our devices when its ``[Match]``
  selects it: every key given must hold (``Name=`` globs against each of the
  device's names, ``!`` inverting the list; ``MACAddress=`` /
  ``PermanentMACAddress=``; ``Driver=`` globs, an unknown driver counting as a
  match; ``Type=`` ``ether`` for NICs, ``bond`` for bonds; ``Kind=`` ``bond``);
  keys that cannot be checked here (``Path=``, ``Property=``, ``Host=``...)
  count as holding. A file without ``[Match]`` keys matches every device. A
  ``.network`` file that puts a device into one of our bonds or NICs
  (``Bond=``, ``Bridge=``, ``VLAN=``...) configures it too.
- A ``.netdev`` file creates one of our bonds when ``[NetDev] Name=`` names it.

networkd uses the first ``.network`` file (in name order) that matches a
device, and ours are ``05-packet-*``: when networkd is the chosen stack, only
foreign files sorting before ours step aside.

Enabled when chosen: ``systemd-networkd.service`` (its ``[Install]`` section
also enables the socket, ``systemd-networkd-wait-online.service`` and, on
newer systemd, the network generator and the D-Bus alias), as ``systemctl
enable`` would; Debian ships it disabled.
"""
import fnmatch

from packetnetworking.ownership import RendererConfig, Unit, ini_sections, move_aside_where

NETWORK_DIR = "etc/systemd/network"
#: Every file the tool writes here starts with it; it sorts before netplan's generated
#: ``10-netplan-*`` and the distributions' own files (see builder.py).
PREFIX = "05-packet-"

#: Keys naming devices a ``.network`` file attaches to the one it matches.
ATTACH_KEYS = ("Bond", "Bridge", "VLAN", "MACVLAN", "MACVTAP", "IPVLAN", "IPVTAP", "VXLAN",
               "Tunnel", "VRF", "Xfrm", "BatmanAdvanced")
#: Device types (``Type=``) of NICs and bonds as networkd reports them.
NIC_TYPES, BOND_TYPES = ("ether",), ("bond",)
#: Keys that only ever hold for wireless devices.
WIRELESS_KEYS = ("SSID", "BSSID", "WLANInterfaceType")


def selects(path, text, devices):
    entries = ini_sections(text)
    if path.endswith(".netdev"):
        for section, key, value in entries:
            if section == "NetDev" and key == "Name":
                device = devices.named(value)
                if device is not None:
                    return f"creates {device.name}"
        return None
    match = [(key, value) for section, key, value in entries if section == "Match"]
    attached = [(key, value) for section, key, value in entries
                if section == "Network" and key in ATTACH_KEYS]
    for key, value in attached:
        device = devices.named(value)
        if device is not None:
            return f"puts the device it matches into {device.name} ({key}=)"
    if not [key for key, value in match if value]:
        return "has no [Match] keys: it matches every device, these included"
    for device in devices.devices:
        if _holds(match, device):
            shown = " ".join(f"{k}={v}" for k, v in match)
            return f"matches {device.name} ([Match] {shown})"
    return None


def _holds(match, device):
    lists = {}
    for key, value in match:
        if not value:
            lists.pop(key, None)  # an empty assignment resets the list
        else:
            lists.setdefault(key, []).extend(value.split())
    for key, values in lists.items():
        if key in ("Name", "OriginalName"):
            inverted = values[0].startswith("!")
            patterns = [v.lstrip("!") for v in values]
            hit = any(fnmatch.fnmatchcase(alias, p) for p in patterns for alias in device.aliases)
            if hit == inverted:
                return False
        elif key in ("MACAddress", "PermanentMACAddress"):
            if not any(device.mac and v.lower().replace("-", ":") == device.mac for v in values):
                return False
        elif key == "Driver":
            inverted = values[0].startswith("!")
            if device.driver:
                hit = any(fnmatch.fnmatchcase(device.driver, v.lstrip("!")) for v in values)
                if hit == inverted:
                    return False
        elif key == "Type":
            types = NIC_TYPES if device.kind == "ether" else BOND_TYPES
            inverted = values[0].startswith("!")
            hit = any(fnmatch.fnmatchcase(t, v.lstrip("!")) for v in values for t in types)
            if hit == inverted:
                return False
        elif key == "Kind":
            kind = "bond" if device.kind == "bond" else ""
            inverted = values[0].startswith("!")
            hit = any(fnmatch.fnmatchcase(kind, v.lstrip("!")) for v in values)
            if hit == inverted:
                return False
        elif key in WIRELESS_KEYS:
            return False
    return True


def _sorts_before_ours(path):
    """Foreign files networkd reads before ours (``05-packet-*``)."""
    return path.rpartition("/")[2] < PREFIX


CONFIG = RendererConfig(
    name="networkd",
    reads=(f"{NETWORK_DIR}/*.network", f"{NETWORK_DIR}/*.netdev"),
    step_aside=move_aside_where(selects),
    aside_when_chosen=_sorts_before_ours,
    units=(Unit("systemd-networkd.service", ("multi-user.target",)),
           Unit("systemd-networkd.socket", ("sockets.target",)),
           Unit("systemd-networkd-wait-online.service", ("network-online.target",))),
)
