"""netplan: one YAML file, ``etc/netplan/50-packet.yaml`` (mode 0600).

netplan renders it for systemd-networkd at boot (``renderer: networkd``, also
on a target that runs NetworkManager: netplan marks those devices unmanaged
there). What each device does is decided in ``stacks/networkd/devices.py``
(the same rule as the networkd stack). Decisions, and why:

- NICs are keyed by their name and matched by MAC with ``set-name`` (netplan
  pins the name itself: ``.link`` files matching the permanent MAC); bonds
  carry the metadata's MAC (``macaddress``), else networkd gives them a
  generated one.
- Default routes are ``to: 0.0.0.0/0`` and ``to: ::/0``: netplan before 0.102
  (Ubuntu 20.04 without updates) refuses ``to: default``, and ``gateway4`` /
  ``gateway6`` are deprecated.
- Bond timings carry their unit (``100ms``): netplan 0.36 (Ubuntu 18.04 at
  release) passed a bare number to networkd, which reads seconds.
- Every string is written as a JSON string (a valid YAML double-quoted
  scalar): a MAC of digits only is a base-60 number to YAML 1.1, ``802.3ad``
  a float, ``on`` a boolean.
- Files an installer or a cloud image leaves in etc/netplan describe the same
  NICs (e.g. Debian 12 cloud's ``90-default.yaml``: DHCP on every ``en*``,
  whose generated ``10-netplan-all-en.network`` sorts before ours and wins);
  netplan merges every file, so the known ones are deleted. Where cloud-init
  is installed its network configuration is switched off, or its first boot
  would write ``50-cloud-init.yaml`` again.
"""
import logging

from packetnetworking.builder import NetworkBuilder
from packetnetworking.stacks.networkd import devices as roles

log = logging.getLogger(__name__)

NETPLAN_FILE = "etc/netplan/50-packet.yaml"
NETPLAN_MODE = 0o600

#: Written by installers and cloud images; each configures the NICs its own way.
FOREIGN_NETPLAN_FILES = (
    "etc/netplan/00-installer-config.yaml",   # Ubuntu subiquity 20.04-22.04
    "etc/netplan/01-netcfg.yaml",             # Ubuntu 17.10-18.04 / debian-installer
    "etc/netplan/50-cloud-init.yaml",         # cloud-init (Ubuntu 24.04 installer too)
    "etc/netplan/90-default.yaml",            # Debian 12+ cloud images
)

CLOUD_INIT_MARKERS = ("etc/cloud/cloud.cfg", "usr/bin/cloud-init")
CLOUD_INIT_NETWORK_OFF = "etc/cloud/cloud.cfg.d/99-packet-networking.cfg"


def _target(builder):
    """The distro builder's TargetRoot, or None when built without one (tests)."""
    distro_builder = builder.distro_builder
    return distro_builder.target if distro_builder is not None else None


class NetplanBuilder(NetworkBuilder):
    """Every layout: ethernets for the NICs, bonds with their parameters."""

    def build_tasks(self):
        self.tasks[NETPLAN_FILE] = self.template("netplan.yaml.j2", mode=NETPLAN_MODE)
        target = _target(self)
        for foreign in FOREIGN_NETPLAN_FILES:
            if target is None or target.exists(foreign):
                self.tasks[foreign] = None
                if target is not None:
                    log.info("%s removed: it configures the same NICs", foreign)

    def context(self):
        net = self.network
        return {"roles": roles, "ethernets": roles.nic_devices(net),
                "bonds": roles.bond_devices(net)}


class CloudInitNetworkOffBuilder(NetworkBuilder):
    """``network: {config: disabled}`` for cloud-init, where cloud-init is installed."""

    def applies(self):
        target = _target(self)
        return target is not None and target.any(*CLOUD_INIT_MARKERS)

    def build_tasks(self):
        self.tasks[CLOUD_INIT_NETWORK_OFF] = "cloud-init-network.cfg.j2"


#: What ``stacks.shared_stacks()`` registers as "netplan".
BUILDERS = [NetplanBuilder, CloudInitNetworkOffBuilder]
