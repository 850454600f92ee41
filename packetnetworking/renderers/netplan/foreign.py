"""What netplan reads, and which of its files configure this run's devices.

netplan reads every ``etc/netplan/*.yaml`` (and ``run/``, ``lib/``: not the
image's configuration) and merges them, so a file that names one of our
devices changes it even when netplan is the chosen stack: such files step
aside whatever the stack (our own ``50-packet.yaml`` stays).

netplan files are YAML, read by ``yaml_subset.read_yaml`` (the subset netplan
files use). A file using anything else (anchors, aliases, tags, block scalars)
is not understood: if it may define devices it is moved aside, in doubt.

A device definition selects one of our devices when:

- ``ethernets``: its ``match`` selects the NIC (every key given must hold:
  ``name`` as a glob against each of the NIC's names, ``macaddress``,
  ``driver`` as a glob, an unknown driver counting as a match; an empty
  ``match`` selects every NIC); without ``match``, its id is the NIC's name;
- a bond, bridge, VLAN, tunnel, VRF...: its id names one of our devices, or it
  takes one of the selected devices in (``interfaces``, ``link``), across files.

Every file defining or referring to a selected id moves aside, so netplan never
reads a bond whose members are gone (``netplan generate`` refuses that).
"""
import fnmatch

from packetnetworking.ownership import Aside, RendererConfig, Task, always, normal_mac
from packetnetworking.renderers.netplan.yaml_subset import Unreadable, read_yaml

#: Device types whose entries are NICs we may match, and the others (netplan(5)).
PHYSICAL = ("ethernets",)
RADIO = ("wifis", "modems")
VIRTUAL = ("bonds", "bridges", "vlans", "tunnels", "vrfs", "dummy-devices",
           "virtual-ethernets", "nm-devices")
#: Keys naming other devices a virtual device takes in or sits on.
LINK_KEYS = ("interfaces", "link", "peer")


def step_aside(scan):
    devices = scan.devices
    found = {}
    definitions = []  # (path, kind, id, props)
    for path, text in scan.files.items():
        try:
            document = read_yaml(text)
        except Unreadable as err:
            if _may_define_devices(text, devices):
                found[path] = Aside(Task(move_aside=True),
                                    f"could not be read as plain netplan YAML ({err}) and may "
                                    "configure these devices: moved aside in doubt")
            continue
        for kind, ident, props in _definitions(document):
            definitions.append((path, kind, ident, props))
    selected = _selected_ids(definitions, devices)
    for path, kind, ident, props in definitions:
        if path in found:
            continue
        if ident in selected:
            found[path] = Aside(Task(move_aside=True), f"defines {kind}.{ident}, which "
                                f"{selected[ident]}")
            continue
        for link in _links(props):
            if link in selected:
                found[path] = Aside(Task(move_aside=True), f"puts {link} (which "
                                    f"{selected[link]}) into {kind}.{ident}")
                break
    return found


def _definitions(document):
    network = document.get("network") if isinstance(document, dict) else None
    if not isinstance(network, dict):
        return
    for kind in PHYSICAL + RADIO + VIRTUAL:
        entries = network.get(kind)
        if isinstance(entries, dict):
            for ident, props in entries.items():
                yield kind, str(ident), props if isinstance(props, dict) else {}


def _links(props):
    for key in LINK_KEYS:
        value = props.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                yield item


def _selected_ids(definitions, devices):
    """``{id: reason}`` of the definitions that configure one of ``devices``."""
    selected = {}
    for _, kind, ident, props in definitions:
        if kind in PHYSICAL:
            reason = _physical_selects(ident, props, devices)
        elif kind in VIRTUAL:
            device = devices.named(ident)
            reason = f"is {device.name}" if device else None
        else:
            reason = None
        if reason and ident not in selected:
            selected[ident] = reason
    changed = True
    while changed:  # a bridge over a bond over our NICs: follow the links to the end
        changed = False
        for _, kind, ident, props in definitions:
            if kind not in VIRTUAL or ident in selected:
                continue
            for link in _links(props):
                device = devices.named(link)
                if link in selected or device is not None:
                    selected[ident] = f"takes in {link}" + (
                        f" ({device.name})" if device and link not in selected else "")
                    changed = True
                    break
    return selected


def _physical_selects(ident, props, devices):
    match = props.get("match")
    if match is None:
        device = devices.named(ident)
        return f"is {device.name}" if device else None
    if not isinstance(match, dict) or not match:
        return "matches every NIC (empty match)" if devices.nics else None
    for device in devices.nics:
        if _match_holds(match, device):
            shown = ", ".join(f"{k}: {_show(v)}" for k, v in match.items())
            return f"matches {device.name} (match {shown})"
    return None


def _show(value):
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def _match_holds(match, device):
    for key, value in match.items():
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if key == "name":
            if not any(fnmatch.fnmatchcase(alias, v) for v in values for alias in device.aliases):
                return False
        elif key == "macaddress":
            if not any(normal_mac(v) == device.mac for v in values):
                return False
        elif key == "driver":
            if device.driver and not any(fnmatch.fnmatchcase(device.driver, v) for v in values):
                return False
        # any other key: netplan may know it, we do not: it might hold
    return True


def _may_define_devices(text, devices):
    lowered = text.lower()
    if any(kind in lowered for kind in PHYSICAL + VIRTUAL):
        return True
    return devices.mentioned(text.replace(":", " : ").split()) is not None


CONFIG = RendererConfig(
    name="netplan",
    reads=("etc/netplan/*.yaml",),
    step_aside=step_aside,
    aside_when_chosen=always,
)
