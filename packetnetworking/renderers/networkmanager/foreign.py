"""What NetworkManager reads and runs, and how it leaves this run's devices alone.

Files: the keyfiles in ``etc/NetworkManager/system-connections`` (every file
there but hidden names and backups, as its keyfile plugin reads them). A
keyfile configures one of our devices when:

- ``[connection] interface-name=`` names it, or ``[ethernet] mac-address=`` is
  its MAC, or ``[match] interface-name=`` globs select it (``!`` excludes);
- it is a port of one of our bonds (``master=`` / ``controller=`` naming the
  bond, or the uuid or id of a connection that configures one of ours), or a
  VLAN on one of our NICs (``[vlan] parent=``);
- it is an ethernet profile bound to no device at all (no interface name, MAC
  or match): NetworkManager may start it on any NIC.

When another stack is chosen these keyfiles move aside. When NetworkManager is
chosen they stay: ours carry ``autoconnect-priority=200`` and win.

NetworkManager itself, installed but not chosen, would still start its own
automatic DHCP profiles on a NIC the chosen stack configures (or take a
bond's port before systemd-networkd or ifupdown enslaves it): where networkd
or ifupdown (``eni``) owns the devices, ``etc/NetworkManager/conf.d/
90-packet-networking.conf`` lists them in ``unmanaged-devices`` (appended
with ``+=``: Ubuntu's own list must survive). netplan marks its devices
unmanaged itself (udev rules it generates), and the RedHat ifcfg stack is read
by NetworkManager, so neither gets the file.

Enabled when chosen: ``NetworkManager.service`` (and, from its ``[Install]``
section, the ``dbus-org.freedesktop.NetworkManager.service`` alias and the
units named in ``Also=``), as ``systemctl enable`` would.
"""
import fnmatch

from packetnetworking.builder import NetworkBuilder
from packetnetworking.ownership import (Aside, RendererConfig, Task, Unit, ini_sections,
                                        normal_mac)
from packetnetworking.renderers.networkmanager import MARKERS as NETWORKMANAGER

KEYFILE_DIR = "etc/NetworkManager/system-connections"
UNMANAGED_CONF = "etc/NetworkManager/conf.d/90-packet-networking.conf"
#: The stacks whose devices NetworkManager must be told to leave alone.
UNMANAGED_FOR = ("networkd", "eni")
#: Name endings NetworkManager's keyfile plugin skips.
IGNORED = ("~", ".bak", ".orig", ".rej", ".swp", ".tmp", ".rpmnew", ".rpmsave", ".nmmeta")


def step_aside(scan):
    devices = scan.devices
    profiles = {path: _profile(text) for path, text in scan.files.items()}
    found = {}
    for path, profile in profiles.items():
        reason = _direct(profile, devices)
        if reason:
            found[path] = reason
    changed = True
    while changed:  # ports of a bond profile that configures ours, by uuid or id
        changed = False
        selected = {profiles[p].get(("connection", k)) for p in found for k in ("uuid", "id")}
        selected.discard(None)
        for path, profile in profiles.items():
            controller = profile.get(("connection", "master")) or \
                profile.get(("connection", "controller"))
            if path not in found and controller in selected:
                found[path] = f"is a port of {controller}, which configures these devices"
                changed = True
    return {path: Aside(Task(move_aside=True), reason) for path, reason in found.items()}


def _profile(text):
    profile = {}
    for section, key, value in ini_sections(text, comments=("#", ";")):
        section = {"802-3-ethernet": "ethernet"}.get(section, section)
        profile[(section, key)] = value
    return profile


def _direct(profile, devices):
    kind = profile.get(("connection", "type"), "")
    name = profile.get(("connection", "interface-name"))
    if name:
        device = devices.named(name)
        if device is not None:
            return f"is bound to {device.name} (interface-name={name})"
    mac = profile.get(("ethernet", "mac-address"))
    if mac:
        device = devices.with_mac(mac)
        if device is not None:
            return f"is bound to {device.name} by its MAC {device.mac}"
    for key in ("master", "controller"):
        device = devices.named(profile.get(("connection", key)) or "")
        if device is not None:
            return f"is a port of {device.name} ({key}=)"
    parent = profile.get(("vlan", "parent"))
    if parent and devices.named(parent) is not None:
        return f"is a VLAN on {devices.named(parent).name}"
    match = profile.get(("match", "interface-name"))
    if match:
        patterns = [p for p in match.replace(",", ";").split(";") if p]
        for device in devices.devices:
            if _match_holds(patterns, device):
                return f"matches {device.name} ([match] interface-name={match})"
        return None
    if kind in ("ethernet", "802-3-ethernet") and not name and \
            normal_mac(mac or "") is None:
        return "is an ethernet profile bound to no device: NetworkManager may start it on any NIC"
    return None


def _match_holds(patterns, device):
    """NetworkManager's ``[match] interface-name``: ``!`` patterns must all miss, at
    least one plain pattern (if any) must hit; ``~`` patterns are plain ones here."""
    plain = [p.lstrip("~") for p in patterns if not p.startswith("!")]
    negated = [p[1:] for p in patterns if p.startswith("!")]

    def hit(pattern):
        return any(fnmatch.fnmatchcase(alias, pattern) for alias in device.aliases)

    if any(hit(p) for p in negated):
        return False
    return any(hit(p) for p in plain) if plain else True


class NetworkManagerUnmanagedBuilder(NetworkBuilder):
    """``etc/NetworkManager/conf.d/90-packet-networking.conf`` where NetworkManager is
    installed and networkd or ifupdown owns the devices."""

    templates_package = "packetnetworking.renderers.networkmanager"

    def applies(self):
        distro_builder = self.distro_builder
        return (distro_builder is not None and distro_builder.renderer in UNMANAGED_FOR
                and distro_builder.target.any(*NETWORKMANAGER))

    def build_tasks(self):
        self.tasks[UNMANAGED_CONF] = "unmanaged.conf.j2"

    def context(self):
        return {"nics": self.network.interfaces, "bonds": self.network.bonds}


CONFIG = RendererConfig(
    name="networkmanager",
    reads=(f"{KEYFILE_DIR}/*",),
    ignores=IGNORED,
    step_aside=step_aside,
    builders=(NetworkManagerUnmanagedBuilder,),
    units=(Unit("NetworkManager.service", ("multi-user.target",)),),
)
