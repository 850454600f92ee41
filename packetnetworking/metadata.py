"""Parse the metadata document once into a validated, immutable model.

Templates only ever see values that passed through here: IPs parsed with
``ipaddress``, MACs normalised, names checked so they cannot break a file name
or a config line (packetnetworking.names). A bad field raises ``MetadataError``
naming it, e.g. ``network.addresses[2].gateway: 10.0.0.9 is not in 10.99.1.2/31``.
Recognising the document in a file or an answer (empty, HTML, an error) is
packetnetworking.document's.
"""
import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Optional, Tuple

from packetnetworking.errors import MetadataError
from packetnetworking.fields import Fields, kind_of, short
from packetnetworking.names import check_hostname, check_ifname, normalize_mac

log = logging.getLogger(__name__)

#: Largest document accepted: real ones are a few KiB, but customdata can be large.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
#: The bonding mode when the document names none: LACP, as every Equinix Metal plan.
DEFAULT_BONDING_MODE = 4

LINK_AGGREGATIONS = ("bonded", "mlag_ha", "individual")
DEFAULT_PRIVATE_SUBNETS = ("10.0.0.0/8",)


@dataclass(frozen=True)
class Address:
    """One configured IP address with its gateway."""

    interface: ipaddress._BaseAddress  # IPv4Interface / IPv6Interface
    gateway: Optional[ipaddress._BaseAddress]
    public: bool
    management: bool
    enabled: bool

    @property
    def family(self):
        return self.interface.version

    @property
    def address(self):
        return str(self.interface.ip)

    @property
    def prefix(self):
        return self.interface.network.prefixlen

    @property
    def netmask(self):
        return str(self.interface.netmask)

    @property
    def network(self):
        return str(self.interface.network.network_address)

    @property
    def cidr(self):
        return f"{self.address}/{self.prefix}"

    @property
    def onlink(self):
        """True when the gateway lies outside the address's network (Hegel's mock:
        139.175.86.114/31 via 139.175.86.113). The kernel refuses a route via such a
        gateway unless the route says the gateway is on the link: every stack writes
        its routes via this gateway on-link."""
        return self.gateway is not None and self.gateway not in self.interface.network


@dataclass(frozen=True)
class InterfaceSpec:
    """A ``network.interfaces`` entry: the provider's name, MAC and bond."""

    name: str
    mac: str
    bond: Optional[str]
    dhcp: bool


@dataclass(frozen=True)
class Metadata:
    """The validated document; ``raw`` is the decoded JSON, neither shown nor compared."""

    hostname: str
    plan: str
    distro: Optional[str]
    version: Optional[str]
    interfaces: Tuple[InterfaceSpec, ...]
    addresses: Tuple[Address, ...]
    link_aggregation: str
    bonding_mode: int
    bond_mac: Optional[str]
    private_subnets: Tuple[ipaddress.IPv4Network, ...]
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    #: Where the document came from, for messages: ``metadata file m.json``.
    source: str = field(default="metadata", compare=False, repr=False)

    @property
    def dhcp(self):
        return any(i.dhcp for i in self.interfaces)


#: What to do about a document whose content is wrong, wherever it came from.
FIX_DOCUMENT = "correct the document (or this server's record in the metadata service)"


def parse(doc):
    """Validate a decoded document and return a ``Metadata``."""
    top = Fields(doc, "")
    hostname = top.get("hostname", str)
    if hostname.endswith(".") and len(hostname) > 1:  # the DNS root: not part of the name
        log.info("hostname: %r written without its trailing dot", hostname)
        hostname = hostname[:-1]
    if not check_hostname(hostname):
        raise MetadataError(f"hostname: {short(hostname)!r} is not a valid host name "
                            "(labels of letters, digits, '_' and '-', at most 253 characters)")
    plan = top.get("plan", str, required=False, default="")
    distro = version = None
    os_info = top.get("operating_system", dict, required=False)
    if os_info is not None:
        osf = Fields(os_info, "operating_system")
        distro = osf.get("distro", str, required=False)
        version = osf.get("version", (str, int, float), required=False)
        version = None if version is None else str(version)
    subnets = _parse_subnets(top)
    net = Fields(top.get("network", dict), "network")
    interfaces = _parse_interfaces(net)
    addresses = _parse_addresses(net)
    link, mode, bond_mac = _parse_bonding(net)
    return Metadata(
        hostname=hostname, plan=plan.strip().lower(), distro=distro, version=version,
        interfaces=interfaces, addresses=addresses, link_aggregation=link,
        bonding_mode=mode, bond_mac=bond_mac, private_subnets=subnets, raw=doc)


def _parse_subnets(top):
    values = top.get("private_subnets", list, required=False, default=list(DEFAULT_PRIVATE_SUBNETS))
    subnets = []
    for i, value in enumerate(values):
        where = f"private_subnets[{i}]"
        if not isinstance(value, str):
            raise MetadataError(f"{where}: expected a string, got {kind_of(value)}")
        try:
            subnets.append(ipaddress.IPv4Network(value.strip(), strict=False))
        except ValueError:
            raise MetadataError(f"{where}: {short(value)!r} is not an IPv4 network") from None
    return tuple(dict.fromkeys(subnets))


def _parse_interfaces(net):
    values = net.get("interfaces", list)
    interfaces = []
    seen_names, seen_macs = {}, {}
    for i, value in enumerate(values):
        where = f"network.interfaces[{i}]"
        f = Fields(value, where)
        name = f.get("name", str)
        if not check_ifname(name):
            raise MetadataError(f"{where}.name: {short(name)!r} is not a safe interface name "
                                "(1-15 letters, digits, '_', '-', '.'; no '/', '..', spaces or quotes)")
        raw_mac = f.get("mac", str)
        mac = normalize_mac(raw_mac)
        if mac is None:
            raise MetadataError(f"{where}.mac: {short(raw_mac)!r} is not a MAC address")
        bond = f.get("bond", str, required=False)
        if bond is not None and not check_ifname(bond):
            raise MetadataError(f"{where}.bond: {short(bond)!r} is not a safe bond name "
                                "(1-15 letters, digits, '_', '-', '.'; no '/', '..', spaces or quotes)")
        dhcp = f.get("dhcp", bool, required=False, default=False)
        if name in seen_names:
            raise MetadataError(f"{where}.name: {name} is also network.interfaces[{seen_names[name]}]")
        if mac in seen_macs:
            raise MetadataError(f"{where}.mac: {mac} is also network.interfaces[{seen_macs[mac]}]")
        seen_names[name], seen_macs[mac] = i, i
        interfaces.append(InterfaceSpec(name=name, mac=mac, bond=bond, dhcp=dhcp))
    if not interfaces:
        raise MetadataError("network.interfaces: empty, no interface to configure")
    clash = {s.bond for s in interfaces if s.bond} & set(seen_names)
    if clash:
        raise MetadataError(f"network.interfaces: {sorted(clash)[0]} is both an interface and a bond")
    return tuple(interfaces)


#: The addresses the layout configures: the first enabled management address of
#: each of these kinds, ``(family, public)``. A private IPv6 is never configured.
USED_KINDS = {(4, True): "public IPv4", (6, True): "public IPv6", (4, False): "private IPv4"}
#: RFC 1918 and ULA: an address without ``public`` in these is private.
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in
                         ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


def _parse_addresses(net):
    """Every address that parses; an address the layout does not configure (its flags
    say so, or one of its kind came before) may be malformed: a WARNING, then left out.
    A configured address whose gateway lies outside its network is one WARNING (on-link)."""
    values = net.get("addresses", list, required=False, default=[])
    addresses, used = [], set()
    for i, value in enumerate(values):
        where = f"network.addresses[{i}]"
        f = Fields(value, where)
        try:
            address = _parse_address(f, where)
        except MetadataError as err:
            reason = _unused(f, used)
            if reason is None:
                raise
            log.warning("%s; left out: %s", err.one_line(), reason)
            continue
        if address.enabled and address.management:
            kind = (address.family, address.public)
            # only the address the layout configures gets its routes written (on-link);
            # another one (a private IPv6, a second of its kind) is ignored without a word
            if kind in USED_KINDS and kind not in used and address.onlink:
                log.warning("%s.gateway: %s is not in %s: routes via it are written on-link",
                            where, address.gateway, address.interface)
            used.add(kind)
        addresses.append(address)
    return tuple(addresses)


def _parse_address(f, where):
    family = f.get("address_family", int)
    if family not in (4, 6):
        raise MetadataError(f"{where}.address_family: {family} is not 4 or 6")
    cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    ip = _parse_ip(f, where, cls, family)
    if ip.is_unspecified or ip.is_multicast:  # parsers refuse them on an interface
        raise MetadataError(f"{where}.address: {ip} is not a host address")
    prefix = _parse_prefix(f, where, family)
    if prefix == 0:  # netplan refuses it, and the "network" would be everything
        raise MetadataError(f"{where}: /0 is not a usable prefix for {ip}")
    iface = (ipaddress.IPv4Interface if family == 4 else ipaddress.IPv6Interface)(
        (int(ip), prefix))
    gateway = None
    raw_gw = f.get("gateway", str, required=False)
    if raw_gw is not None:
        try:
            gateway = _unscoped(cls(raw_gw.strip()))
        except ValueError:
            raise MetadataError(f"{where}.gateway: {short(raw_gw)!r} is not an "
                                f"IPv{family} address") from None
        # the kernel refuses a route via these, on-link or not
        if gateway.is_unspecified or gateway.is_multicast or gateway == _BROADCAST:
            raise MetadataError(f"{where}.gateway: {gateway} is not a usable gateway")
    public = f.get("public", bool, required=False)
    return Address(
        interface=iface, gateway=gateway,
        public=_is_public(ip) if public is None else public,
        # converters (osie-runner's) drop "management" and "enabled" when true
        management=f.get("management", bool, required=False, default=True),
        enabled=f.get("enabled", bool, required=False, default=True))


def _parse_ip(f, where, cls, family):
    raw_ip = f.get("address", str)
    try:
        return _unscoped(cls(raw_ip.strip()))
    except ValueError:
        raise MetadataError(f"{where}.address: {short(raw_ip)!r} is not an "
                            f"IPv{family} address") from None


def _is_public(ip):
    return not any(ip in network for network in PRIVATE_NETWORKS if network.version == ip.version)


def _unused(f, used):
    """Why the layout does not configure this address, from its own flags; None when
    it does, or when the flags cannot be read (then it is validated)."""
    flags = {}
    for key in ("enabled", "management", "public"):
        value = f.obj.get(key)
        if value is not None and not isinstance(value, bool):
            return None
        flags[key] = value
    if flags["enabled"] is False:
        return "disabled (enabled: false), it is not configured"
    if flags["management"] is False:
        return "not a management address (management: false), it is not configured"
    family = f.obj.get("address_family")
    if family not in (4, 6) or isinstance(family, bool):
        return None
    public = flags["public"]
    if public is None:
        try:
            cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
            public = _is_public(_parse_ip(f, "", cls, family))
        except MetadataError:
            return None
    kind = (family, public)
    if kind not in USED_KINDS:
        return "a private IPv6 address is never configured"
    if kind in used:
        return f"only the first {USED_KINDS[kind]} management address is configured"
    return None


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _unscoped(ip):
    """``ipaddress`` accepts ``fe80::1%<any text>`` and prints the text back: refuse it."""
    if getattr(ip, "scope_id", None) is not None:
        raise ValueError("scoped address")
    return ip


def _parse_prefix(f, where, family):
    bits = 32 if family == 4 else 128
    # A host address on a /0 is no address (netplan refuses it outright): 1 is the minimum.
    cidr = f.get("cidr", int, required=False)
    if cidr is not None:
        if not 1 <= cidr <= bits:
            raise MetadataError(f"{where}.cidr: {cidr} is not a prefix length from 1 to {bits}")
        return cidr
    netmask = f.get("netmask", str, required=False)
    if netmask is None:
        raise MetadataError(f"{where}: missing both cidr and netmask")
    prefix = _netmask_prefix(netmask, family)
    if not prefix:
        raise MetadataError(f"{where}.netmask: {short(netmask)!r} is not an IPv{family} netmask "
                            f"of prefix length 1 to {bits}")
    return prefix


def _netmask_prefix(netmask, family):
    """The prefix length of a netmask (dotted, length, or IPv6 mask address), or None."""
    try:
        return ipaddress.ip_network(f"0.0.0.0/{netmask.strip()}" if family == 4
                                    else f"::/{netmask.strip()}").prefixlen
    except ValueError:
        pass
    try:  # IPv6 masks come as full addresses: ffff:...:fffe
        mask = int(ipaddress.IPv6Address(netmask.strip()))
        ones = bin(mask).count("1")
        if mask == ((1 << 128) - 1) ^ ((1 << (128 - ones)) - 1):
            return ones
    except ValueError:
        pass
    return None


def _parse_bonding(net):
    bonding = net.get("bonding", dict, required=False)
    f = Fields(bonding or {}, "network.bonding")
    link = f.get("link_aggregation", str, required=False, default="bonded")
    if link not in LINK_AGGREGATIONS:
        raise MetadataError(f"network.bonding.link_aggregation: {short(link)!r} is not one of "
                            f"{', '.join(LINK_AGGREGATIONS)} or null")
    mode = f.get("mode", int, required=False)
    if mode is None:
        mode = DEFAULT_BONDING_MODE
        if link != "individual":  # no bond, no mode to miss
            log.warning("%s: bonding with mode %d (802.3ad, LACP), as Equinix Metal does",
                        "network.bonding.mode is missing" if bonding else
                        "network.bonding is missing", mode)
    if not 0 <= mode <= 6:
        raise MetadataError(f"network.bonding.mode: {mode} is not a bonding mode from 0 to 6")
    bond_mac = None
    raw_mac = f.get("mac", str, required=False)
    if raw_mac is not None:
        bond_mac = normalize_mac(raw_mac)
        if bond_mac is None:
            raise MetadataError(f"network.bonding.mac: {short(raw_mac)!r} is not a MAC address")
    return link, mode, bond_mac
