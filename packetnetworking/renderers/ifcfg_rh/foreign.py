"""ifcfg-rh files (renderer ``ifcfg-rh`` of the RedHat family), and which of them configure
this run's devices.

Read by the legacy network-scripts and by NetworkManager's ifcfg-rh plugin:
``etc/sysconfig/network-scripts/ifcfg-<name>`` and the ``route-``,
``route6-``, ``rule-`` and ``rule6-<name>`` files beside them. A file
configures one of our devices when its name ends in one of the devices' names
(or an alias label or VLAN on one: ``ifcfg-bond0:0``, ``ifcfg-eth0.100``), or
``DEVICE=``, ``NAME=``, ``HWADDR=`` / ``MACADDR=``, ``MASTER=``, ``BRIDGE=`` or
``PHYSDEV=`` names one.

They move aside when NetworkManager keyfiles or networkd are chosen, and
also when ifcfg-rh is chosen and this run does not write them (an image's
``ifcfg-eth0`` for a NIC this run configures under another name, a file left
for a NIC since renamed): both stacks read every file, and two files for one
NIC race. ``ifcfg-lo`` is never touched.
"""
from packetnetworking.ownership import RendererConfig, always, move_aside_where, shell_assignments

SCRIPTS = "etc/sysconfig/network-scripts"
#: Name endings network-scripts skip (``is_ignored_file``), as NetworkManager does.
IGNORED = ("~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave")
PREFIXES = ("ifcfg-", "route-", "route6-", "rule-", "rule6-")
KEYS = ("DEVICE", "NAME", "HWADDR", "MACADDR", "MASTER", "BRIDGE", "PHYSDEV")


def selects(path, text, devices):
    name = path.rpartition("/")[2]
    prefix = next(p for p in PREFIXES if name.startswith(p))
    suffix = name[len(prefix):]
    if suffix == "lo":
        return None
    device = devices.named(suffix)
    if device is not None:
        return f"is {name}, for {device.name}"
    if prefix != "ifcfg-":
        return None
    values = shell_assignments(text)
    for key in KEYS:
        value = values.get(key, "")
        hit = devices.mentioned([value]) if value else None
        if hit:
            return f"{hit[1]} ({key}={value})"
    return None


IFCFG_RH = RendererConfig(
    name="ifcfg-rh",
    reads=tuple(f"{SCRIPTS}/{prefix}*" for prefix in PREFIXES),
    ignores=IGNORED,
    step_aside=move_aside_where(selects),
    aside_when_chosen=always,
)
