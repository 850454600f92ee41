"""Which device carries what, for the stacks that describe one device at a time.

netplan and systemd-networkd both write one entry per device (NIC or bond)
and say what it does: carries the addresses, asks DHCP, is a bond port, or is
up without any address. The rule is the same for both, so it lives here:

- bonded: every NIC is a port of its bond; the primary bond carries the
  addresses (or asks DHCP); further bonds are up without addresses (the
  operator puts VLANs on them later);
- individual: the first NIC carries the addresses, the others are up without
  addresses (their names are still pinned);
- DHCP without bonds: every NIC whose metadata says ``dhcp`` asks DHCP, the
  others are up without addresses.
"""
from dataclasses import dataclass
from typing import Optional

from packetnetworking.model import Bond, Interface

#: Roles.
ADDRESSES = "addresses"   # the static addresses, default routes, private routes, DNS
DHCP = "dhcp"             # DHCPv4 (IPv6 from router advertisements)
PORT = "port"             # a bond member
BARE = "bare"             # up, no address, not needed to be "online"


@dataclass(frozen=True)
class Device:
    name: str
    role: str
    iface: Optional[Interface] = None  # NICs
    bond: Optional[Bond] = None        # bonds, and the bond a port belongs to

    @property
    def mac(self):
        return self.iface.mac if self.iface is not None else self.bond.mac

    @property
    def is_bond(self):
        return self.iface is None


def nic_devices(net):
    """One Device per matched NIC, in metadata order."""
    if net.bonds:
        bond_of = {m.name: b for b in net.bonds for m in b.members}
        return [Device(i.name, PORT, iface=i, bond=bond_of[i.name]) for i in net.interfaces]
    devices = []
    for iface in net.interfaces:
        if net.dhcp:
            role = DHCP if iface.dhcp else BARE
        else:
            role = ADDRESSES if iface is net.primary_interface else BARE
        devices.append(Device(iface.name, role, iface=iface))
    return devices


def bond_devices(net):
    """One Device per bond (primary first)."""
    addressed = DHCP if net.dhcp else ADDRESSES
    return [Device(b.name, addressed if b.name == net.primary_bond_name else BARE, bond=b)
            for b in net.bonds]


def devices(net):
    return nic_devices(net) + bond_devices(net)
