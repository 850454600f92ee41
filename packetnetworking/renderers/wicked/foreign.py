"""SUSE ifcfg files (renderer ``wicked`` of the SUSE family, read by wicked), and which of
them configure this run's devices.

``etc/sysconfig/network/ifcfg-<name>`` and ``ifroute-<name>``: the device is
the file's name (older releases also accept ``ifcfg-eth-id-<MAC>``). A file
configures one of our devices when that name is one of the devices (or an
alias label or VLAN on one), or ``LLADDR=``, a ``BONDING_SLAVE*=``,
``BRIDGE_PORTS=`` or ``ETHERDEVICE=`` names one.

They move aside when NetworkManager keyfiles are chosen, and also when wicked
is chosen and this run does not write them (wicked reads every file; two files
for one NIC race). ``ifcfg-lo`` is never touched.
"""
from packetnetworking.ownership import RendererConfig, always, move_aside_where, \
    shell_assignments, words

SYSCONFIG = "etc/sysconfig/network"
#: Name endings wicked skips.
IGNORED = ("~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave", ".scpmbackup")
PREFIXES = ("ifcfg-", "ifroute-")


def selects(path, text, devices):
    name = path.rpartition("/")[2]
    prefix = next(p for p in PREFIXES if name.startswith(p))
    suffix = name[len(prefix):]
    if suffix == "lo":
        return None
    device = devices.named(suffix)
    if device is not None:
        return f"is {name}, for {device.name}"
    if suffix.startswith("eth-id-"):
        device = devices.with_mac(suffix[len("eth-id-"):])
        if device is not None:
            return f"is {name}, for {device.name} by its MAC"
    if prefix != "ifcfg-":
        return None
    for key, value in shell_assignments(text).items():
        if key == "LLADDR" or key.startswith("BONDING_SLAVE") or key in ("BRIDGE_PORTS",
                                                                          "ETHERDEVICE"):
            hit = devices.mentioned(words(value))
            if hit:
                return f"{hit[1]} ({key}='{value}')"
    return None


SUSE_IFCFG = RendererConfig(
    name="wicked",
    reads=tuple(f"{SYSCONFIG}/{prefix}*" for prefix in PREFIXES),
    ignores=IGNORED,
    step_aside=move_aside_where(selects),
    aside_when_chosen=always,
)
