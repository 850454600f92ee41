"""The network model: validated metadata matched to the machine's NICs.

This is what builders and templates read. Everything non-trivial (which
address is primary, which NIC is in which bond, bond options per mode) is
decided here, once, so templates only print values.
"""
import ipaddress
import re
from dataclasses import dataclass, field
from typing import List, Optional

from packetnetworking.operating_system import OperatingSystem


BOND_MODE_NAMES = {
    0: "balance-rr", 1: "active-backup", 2: "balance-xor", 3: "broadcast",
    4: "802.3ad", 5: "balance-tlb", 6: "balance-alb",
}
#: Options used in production; hash policy only where the mode hashes, LACP rate only for LACP.
BOND_MIIMON, BOND_UPDELAY, BOND_DOWNDELAY = 100, 200, 200
#: Seconds each member of a bond after its first waits before it comes up (ENI's
#: ``pre-up sleep``, RedHat's ifup-pre-local), as the original tool did: its history
#: credits the first NIC coming up alone with keeping the switches' LACP partner keys
#: right (the first NIC wins the LACP negotiation). No switch here proves it either way.
BOND_MEMBER_DELAY = 4
BOND_HASH_MODES = (2, 4)
BOND_XMIT_HASH_POLICY = "layer3+4"


@dataclass
class Interface:
    """A metadata interface matched to a physical NIC. Hooks may edit ``name``."""

    name: str                # what the installed OS calls it: used in every file
    meta_name: str           # the provider's name (eth0, eth1, ...)
    mac: str
    bond: Optional[str]
    dhcp: bool = False
    driver: str = ""
    logical_name: str = ""   # the kernel's name in the provisioning environment


@dataclass
class Bond:
    name: str
    mode: int
    mac: str
    members: List[Interface]

    @property
    def mode_name(self):
        return BOND_MODE_NAMES[self.mode]

    @property
    def miimon(self):
        return BOND_MIIMON

    @property
    def updelay(self):
        return BOND_UPDELAY

    @property
    def downdelay(self):
        return BOND_DOWNDELAY

    @property
    def lacp_rate(self):
        """``fast`` for LACP, None otherwise (the option is refused elsewhere)."""
        return "fast" if self.mode == 4 else None

    @property
    def xmit_hash_policy(self):
        return BOND_XMIT_HASH_POLICY if self.mode in BOND_HASH_MODES else None

    @property
    def options(self):
        """``[(key, value)]`` in the kernel's sysfs spelling, in a fixed order."""
        opts = [("mode", self.mode_name), ("miimon", str(self.miimon)),
                ("updelay", str(self.updelay)), ("downdelay", str(self.downdelay))]
        if self.xmit_hash_policy:
            opts.append(("xmit_hash_policy", self.xmit_hash_policy))
        if self.lacp_rate:
            opts.append(("lacp_rate", self.lacp_rate))
        return opts

    @property
    def options_string(self):
        return " ".join(f"{k}={v}" for k, v in self.options)

    def member_delay(self, iface):
        """Seconds ``iface`` waits before it comes up: BOND_MEMBER_DELAY for every member
        after the first (metadata order), 0 for the first one."""
        names = [m.name for m in self.members]
        return BOND_MEMBER_DELAY if iface.name in names[1:] else 0


#: What a device does (``Device.role``); templates compare with these strings.
ADDRESSES = "addresses"  # the static addresses, default routes, private routes, nameservers
DHCP = "dhcp"            # asks DHCP for its IPv4 (IPv6 from router advertisements)
PORT = "port"            # a member of a bond (``Device.bond``)
BARE = "bare"            # up without any address: bonds after the first, spare NICs
ALONE = "alone"          # left alone: a NIC in no bond of a bonded layout (hybrid servers)


@dataclass(frozen=True)
class Device:
    """A NIC (``iface`` set) or a bond (``iface`` None) and its role.

    ``bond``: for a bond, the bond itself; for a port, the bond it joins."""

    name: str
    role: str
    iface: Optional[Interface] = None
    bond: Optional[Bond] = None

    @property
    def mac(self):
        """A NIC's permanent MAC; the MAC a bond carries."""
        return self.iface.mac if self.iface is not None else self.bond.mac

    @property
    def master(self):
        """The bond a port joins; None for every other role."""
        return self.bond.name if self.role == PORT else None


@dataclass
class NetworkModel:
    """Mutable: ``initialized`` hooks may edit ``interfaces`` (and their names)."""

    hostname: str
    plan: str
    os: OperatingSystem
    link_aggregation: str
    bonding_mode: int
    bond_mac: Optional[str]
    interfaces: List[Interface]
    addresses: List          # metadata.Address, enabled management ones, metadata order
    private_subnets: List[ipaddress.IPv4Network]
    resolvers: List[str]
    nics: List = field(default_factory=list)  # every physical NIC discovered

    # --- the facts every renderer reads -------------------------------------
    @property
    def bonded(self):
        """The layout bonds NICs (``bonded`` or ``mlag_ha``); ``individual`` does not."""
        return self.link_aggregation in ("bonded", "mlag_ha")

    @property
    def dhcp(self):
        """The server uses DHCP: some interface asks for it. No static address, route or
        nameserver is then written; which devices ask is in ``devices``."""
        return any(i.dhcp for i in self.interfaces)

    def bond_of(self, iface) -> Optional[str]:
        """The bond ``iface`` joins, or None. In a bonded layout a NIC joins the bond its
        ``bond`` names; when no matched NIC names one (older and hand-made documents,
        OSIE's CI), every NIC joins bond0. When some NIC names a bond, a NIC whose ``bond``
        is null or missing is in no bond (hybrid servers)."""
        return self._membership().get(iface.name)

    def _membership(self):
        """``{NIC name: bond name}`` for the NICs that join a bond (see ``bond_of``)."""
        if not self.bonded:
            return {}
        if any(i.bond for i in self.interfaces):
            return {i.name: i.bond for i in self.interfaces if i.bond}
        return {i.name: "bond0" for i in self.interfaces}

    @property
    def bonds(self) -> List[Bond]:
        """Bonds by name (bond0 first); members in metadata order. Empty unless bonded."""
        membership = self._membership()
        groups = {}
        for iface in self.interfaces:
            if iface.name in membership:
                groups.setdefault(membership[iface.name], []).append(iface)
        primary = _primary_bond_name(groups)
        bonds = []
        for name in sorted(groups, key=_natural_key):
            members = groups[name]
            mac = members[0].mac
            if name == primary and self.bond_mac:
                mac = self.bond_mac
            bonds.append(Bond(name=name, mode=self.bonding_mode, mac=mac, members=members))
        return bonds

    @property
    def primary_bond_name(self):
        """bond0, else the first bond by name; None without bonds."""
        return _primary_bond_name(set(self._membership().values()))

    @property
    def primary_bond(self) -> Optional[Bond]:
        return next((b for b in self.bonds if b.name == self.primary_bond_name), None)

    @property
    def secondary_bonds(self) -> List[Bond]:
        return [b for b in self.bonds if b.name != self.primary_bond_name]

    @property
    def primary_interface(self) -> Interface:
        return self.interfaces[0]

    @property
    def device(self):
        """The device that carries the addresses (with DHCP: that asks for a lease in
        their place): the primary bond, or the first NIC."""
        return self.primary_bond_name if self.bonded else self.primary_interface.name

    @property
    def devices(self) -> List["Device"]:
        """Every device and what it does (``Device.role``): one per matched NIC, in
        metadata order, then one per bond (primary first). The one place the roles are
        decided; every renderer writes these and decides none of them again."""
        return self.nic_devices + self.bond_devices

    @property
    def nic_devices(self) -> List["Device"]:
        bonds = {b.name: b for b in self.bonds}
        membership = self._membership()
        devices = []
        for iface in self.interfaces:
            bond = bonds.get(membership.get(iface.name))
            if bond is not None:
                devices.append(Device(iface.name, PORT, iface=iface, bond=bond))
            else:
                idle = ALONE if self.bonded else BARE
                devices.append(Device(iface.name, self._role(iface.name, iface.dhcp, idle),
                                      iface=iface))
        return devices

    @property
    def bond_devices(self) -> List["Device"]:
        bonds = sorted(self.bonds, key=lambda b: b.name != self.primary_bond_name)
        return [Device(b.name, self._role(b.name, any(m.dhcp for m in b.members), BARE),
                       bond=b)
                for b in bonds]

    def role_of(self, name):
        """The role of the device called ``name`` (None when there is none)."""
        return next((d.role for d in self.devices if d.name == name), None)

    def _role(self, name, asks_dhcp, idle):
        """The role of a device that is not a bond port. With DHCP the device that would
        carry the addresses asks for a lease, and so does any other device whose metadata
        interface (a bond: one of its members) says ``dhcp``; without, the device carries
        the addresses. Any other device is ``idle``: bonds after the first, and in the
        individual layout the other NICs, are up without addresses (BARE); in a bonded
        layout a NIC in no bond is left alone (ALONE)."""
        if name == self.device:
            return DHCP if self.dhcp else ADDRESSES
        if self.dhcp and asks_dhcp:
            return DHCP
        return idle

    @property
    def device_mac(self):
        return self.primary_bond.mac if self.bonded else self.primary_interface.mac

    @property
    def physical_interfaces(self):
        """Matched NICs sorted by name: for files where order carries no meaning."""
        return sorted(self.interfaces, key=lambda i: _natural_key(i.name))

    # --- addresses --------------------------------------------------------
    def _first(self, family, public):
        return next((a for a in self.addresses if a.family == family and a.public == public), None)

    @property
    def ipv4_public(self):
        return self._first(4, True)

    @property
    def ipv6_public(self):
        return self._first(6, True)

    @property
    def ipv4_private(self):
        return self._first(4, False)

    @property
    def ipv4(self):
        """The primary IPv4 (carries the default route): public, else private."""
        return self.ipv4_public or self.ipv4_private

    @property
    def ipv4_alias(self):
        """The private IPv4 when it is a second address beside a public one."""
        return self.ipv4_private if self.ipv4_public else None

    @property
    def ipv6(self):
        return self.ipv6_public

    @property
    def private_routes(self):
        """``[(subnet, gateway)]``: each private subnet via the private gateway."""
        private = self.ipv4_private
        if private is None or private.gateway is None:
            return []
        return [PrivateRoute(str(net), net.prefixlen, str(net.network_address),
                             str(net.netmask), str(private.gateway), private.onlink)
                for net in self.private_subnets]

    @property
    def static_addresses(self):
        """Addresses in the order they are configured: primary v4, v6, private alias."""
        return [a for a in (self.ipv4, self.ipv6, self.ipv4_alias) if a is not None]

    @property
    def short_hostname(self):
        return self.hostname.split(".")[0]


@dataclass(frozen=True)
class PrivateRoute:
    """A private subnet via the private gateway; ``onlink`` when that gateway lies outside
    the private address's network (the route must then say the gateway is on the link)."""

    cidr: str
    prefix: int
    network: str
    netmask: str
    gateway: str
    onlink: bool = False


def _primary_bond_name(names):
    if not names:
        return None
    return "bond0" if "bond0" in names else sorted(names, key=_natural_key)[0]


_NUMBERS = re.compile(r"(\d+)")


def _natural_key(name):
    """``'eth10'`` sorts after ``'eth9'``: text and numbers alternate, text first
    (``re.split`` with a group puts the numbers at the odd places)."""
    return [int(part) if i % 2 else part for i, part in enumerate(_NUMBERS.split(name))]
