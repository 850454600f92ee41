"""The network model: validated metadata matched to the machine's NICs.

This is what builders and templates read. Everything non-trivial (which
address is primary, which NIC is in which bond, bond options per mode) is
decided here, once, so templates only print values.
"""
import ipaddress
from typing import List, Optional, Tuple

from packetnetworking import lazylog
from packetnetworking.errors import MetadataError, NICError, UnsupportedOS
from packetnetworking.records import FrozenRecord, Record

log = lazylog.get(__name__)

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

#: Names accepted for a distro, mapped to the name the tool uses.
DISTRO_ALIASES = {
    "alma": "almalinux", "redhat": "rhel", "centos-stream": "centos", "centosstream": "centos",
    "rockylinux": "rocky", "open-suse": "opensuse", "opensuse-leap": "opensuse",
    "flatcar-linux": "flatcar", "flatcarlinux": "flatcar",
}


class OperatingSystem(FrozenRecord):
    """The target OS: ``distro`` and ``version`` lower-cased, the originals kept."""

    def __init__(self, distro: str, version: str, orig_distro: str = "", orig_version: str = ""):
        self.__dict__.update(distro=distro, version=version, orig_distro=orig_distro,
                             orig_version=orig_version)

    @property
    def version_tuple(self) -> Tuple[int, ...]:
        """``'9.3'`` -> (9, 3), ``'22.04'`` -> (22, 4), ``'stream-9'`` -> (9,); () if none."""
        return _leading_numbers(self.version)

    @property
    def major(self) -> Optional[int]:
        parts = self.version_tuple
        return parts[0] if parts else None

    def __str__(self):
        return f"{self.distro} {self.version}".strip()


def parse_os(option, metadata):
    """The OS from ``-o 'distro version'`` (wins) or the metadata's operating_system."""
    if option is not None:
        words = option.split()
        if len(words) != 2:
            raise UnsupportedOS(f"-o {option!r} is not two words", "pass -o 'DISTRO VERSION', "
                                "e.g. -o 'centos 7'")
        if "n/a" not in (w.lower() for w in words):
            return _make_os(words[0], words[1])
        log.debug("-o %r names n/a: using the metadata's operating system", option)
    if metadata.distro:
        return _make_os(metadata.distro, metadata.version or "")
    raise UnsupportedOS("no operating system: the metadata has no operating_system.distro",
                        "pass -o 'DISTRO VERSION'")


def _make_os(distro, version):
    name = distro.strip().lower()
    return OperatingSystem(distro=DISTRO_ALIASES.get(name, name), version=version.strip().lower(),
                           orig_distro=distro, orig_version=version)


class Interface(Record):
    """A metadata interface matched to a physical NIC. Hooks may edit ``name``."""

    def __init__(self, name: str, meta_name: str, mac: str, bond: Optional[str],
                 dhcp: bool = False, driver: str = "", logical_name: str = ""):
        self.name = name              # what the installed OS calls it: used in every file
        self.meta_name = meta_name    # the provider's name (eth0, eth1, ...)
        self.mac = mac
        self.bond = bond
        self.dhcp = dhcp
        self.driver = driver
        self.logical_name = logical_name  # the kernel's name in the provisioning environment


class Bond(Record):
    def __init__(self, name: str, mode: int, mac: str, members: List[Interface]):
        self.name = name
        self.mode = mode
        self.mac = mac
        self.members = members

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


class NetworkModel(Record):
    def __init__(self, hostname: str, plan: str, os: OperatingSystem, link_aggregation: str,
                 bonding_mode: int, bond_mac: Optional[str], interfaces: List[Interface],
                 addresses: List, private_subnets: List[ipaddress.IPv4Network],
                 resolvers: List[str], nics: Optional[List] = None):
        self.hostname = hostname
        self.plan = plan
        self.os = os
        self.link_aggregation = link_aggregation
        self.bonding_mode = bonding_mode
        self.bond_mac = bond_mac
        self.interfaces = interfaces
        self.addresses = addresses  # metadata.Address, enabled management ones, metadata order
        self.private_subnets = private_subnets
        self.resolvers = resolvers
        self.nics = [] if nics is None else nics  # every physical NIC discovered

    # --- layout ---------------------------------------------------------
    @property
    def bonded(self):
        return self.link_aggregation in ("bonded", "mlag_ha")

    @property
    def dhcp(self):
        return any(i.dhcp for i in self.interfaces)

    @property
    def layout(self):
        """``dhcp``, ``bonded`` or ``individual``: what NetworkBuilders switch on."""
        if self.dhcp:
            return "dhcp"
        return "bonded" if self.bonded else "individual"

    @property
    def bonds(self) -> List[Bond]:
        """Bonds by name (bond0 first); members in metadata order. Empty unless bonded."""
        if not self.bonded:
            return []
        groups = {}
        for iface in self.interfaces:
            groups.setdefault(iface.bond or "bond0", []).append(iface)
        bonds = []
        for name in sorted(groups, key=_natural_key):
            members = groups[name]
            mac = members[0].mac
            if name == self.primary_bond_name and self.bond_mac:
                mac = self.bond_mac
            bonds.append(Bond(name=name, mode=self.bonding_mode, mac=mac, members=members))
        return bonds

    @property
    def primary_bond_name(self):
        names = sorted({i.bond or "bond0" for i in self.interfaces}, key=_natural_key)
        return "bond0" if "bond0" in names else names[0]

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
        """The device that carries the addresses: the primary bond, or the first NIC."""
        return self.primary_bond_name if self.bonded else self.primary_interface.name

    def device_role(self, name, dhcp_requested=False):
        """``static`` (carries the addresses), ``dhcp``, or ``none`` (up, no address).

        With DHCP the device that would carry the addresses asks for a lease,
        and so does any other device whose metadata interface says ``dhcp``.
        """
        if self.dhcp:
            return "dhcp" if name == self.device or dhcp_requested else "none"
        return "static" if name == self.device else "none"

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


class PrivateRoute(FrozenRecord):
    """A private subnet via the private gateway; ``onlink`` when that gateway lies outside
    the private address's network (the route must then say the gateway is on the link)."""

    def __init__(self, cidr: str, prefix: int, network: str, netmask: str, gateway: str,
                 onlink: bool = False):
        self.__dict__.update(cidr=cidr, prefix=prefix, network=network, netmask=netmask,
                             gateway=gateway, onlink=onlink)


def _leading_numbers(text):
    """The first dotted run of decimal numbers in ``text``: ``'stream-9.3'`` -> (9, 3)."""
    digits = [c.isdecimal() for c in text]
    if True not in digits:
        return ()
    start, numbers = digits.index(True), []
    while True:
        end = start
        while end < len(text) and digits[end]:
            end += 1
        numbers.append(int(text[start:end]))
        if end + 1 < len(text) and text[end] == "." and digits[end + 1]:
            start = end + 1
        else:
            return tuple(numbers)


def _natural_key(name):
    """``'eth10'`` sorts after ``'eth9'``: text and numbers alternate, text first."""
    key, start = [], 0
    for end in range(1, len(name) + 1):
        if end == len(name) or name[end].isdecimal() != name[start].isdecimal():
            part = name[start:end]
            if part.isdecimal():
                if not key:
                    key.append("")
                key.append(int(part))
            else:
                key.append(part)
            start = end
    if not key or isinstance(key[-1], int):
        key.append("")
    return key


def build_model(metadata, nics, os_info, resolvers=()):
    """Match metadata interfaces to NICs by MAC and build the model."""
    by_mac = {}
    for nic in nics:
        by_mac.setdefault(nic.mac, []).append(nic)
    interfaces, unmatched = [], []
    for spec in metadata.interfaces:
        found = by_mac.get(spec.mac, [])
        if not found:
            unmatched.append(spec)
            continue
        if len(found) > 1:
            names = ", ".join(n.name for n in found)
            raise NICError(f"metadata interface {spec.name} ({spec.mac}) matches several NICs "
                           f"({names}) that report the same MAC",
                           "bond slaves show the bond's MAC: read permanent MACs "
                           "(discover live, or list them in a JSON NIC file)")
        nic = found[0]
        interfaces.append(Interface(name=nic.name, meta_name=spec.name, mac=spec.mac,
                                    bond=spec.bond, dhcp=spec.dhcp, driver=nic.driver,
                                    logical_name=nic.logical_name))
    if not interfaces:
        meta_macs = ", ".join(s.mac for s in metadata.interfaces)
        nic_macs = ", ".join(n.mac for n in nics) or "none"
        raise NICError(f"no metadata interface matches a NIC: metadata MACs {meta_macs}; "
                       f"NIC MACs {nic_macs}", "check that the metadata is this server's")
    # warned only now: when nothing matches, the error above is the one line printed
    for spec in unmatched:
        log.warning("metadata interface %s (%s) matches no NIC on this machine: left out",
                    spec.name, spec.mac)
    names = [i.name for i in interfaces]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise NICError(f"two matched NICs are both named {dup}", "check the NIC list")
    if metadata.link_aggregation in ("bonded", "mlag_ha"):  # one file/key would hold both
        clash = sorted({i.bond or "bond0" for i in interfaces} & set(names))
        if clash:
            raise NICError(f"the NIC named {clash[0]} has the name of a bond of the metadata",
                           "check the NIC list")
    addresses = [a for a in metadata.addresses if a.enabled and a.management]
    model = NetworkModel(
        hostname=metadata.hostname, plan=metadata.plan, os=os_info,
        link_aggregation=metadata.link_aggregation, bonding_mode=metadata.bonding_mode,
        bond_mac=metadata.bond_mac, interfaces=interfaces, addresses=addresses,
        private_subnets=list(metadata.private_subnets), resolvers=list(resolvers),
        nics=list(nics))
    check_addressable(model)
    return model


def check_addressable(model):
    """Without DHCP something must carry an address with a gateway."""
    if model.dhcp:
        return
    if model.ipv4 is None and model.ipv6 is None:
        raise MetadataError("network.addresses: no enabled management address, and no "
                            "interface asks for DHCP: nothing can be configured",
                            "check the metadata")
    for address in (model.ipv4, model.ipv6):
        if address is not None and address.gateway is None:
            raise MetadataError(f"network.addresses: {address.cidr} carries a default route "
                                "but has no gateway", "check the metadata")
