"""netplan: one YAML file, ``etc/netplan/50-packet.yaml`` (mode 0600).

netplan renders it for systemd-networkd at boot (``renderer: networkd``, also
on a target that runs NetworkManager: netplan marks those devices unmanaged
there). What each device does is the model's (``NetworkModel.devices``), as for
every renderer. Decisions, and why:

- A NIC the model leaves alone (a hybrid server's NIC in no bond) has no entry:
  netplan then writes nothing for it, and networkd leaves a link no file names
  alone. Other netplan files naming it are moved aside (foreign.py).
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
  netplan merges every file, so those that configure our devices are moved
  aside (foreign.py), also when netplan is the chosen stack. cloud-init's own
  configuration is switched off wherever it is installed (stacks/cloudinit).
"""
import logging

from packetnetworking.builder import NetworkBuilder
from packetnetworking import model

log = logging.getLogger(__name__)

NETPLAN_FILE = "etc/netplan/50-packet.yaml"
NETPLAN_MODE = 0o600


class NetplanBuilder(NetworkBuilder):
    """Every layout: ethernets for the NICs, bonds with their parameters."""

    def build_tasks(self):
        self.tasks[NETPLAN_FILE] = self.template("netplan.yaml.j2", mode=NETPLAN_MODE)

    def context(self):
        net = self.network
        return {"ethernets": [d for d in net.nic_devices if d.role != model.ALONE],
                "bonds": net.bond_devices}


#: What ``renderers.shared_renderer()`` returns for "netplan".
BUILDERS = [NetplanBuilder]
