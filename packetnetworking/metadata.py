"""Parse the metadata document once into a validated, immutable model.

Templates only ever see values that passed through here: IPs parsed with
``ipaddress``, MACs normalised, names checked so they cannot break a file name
or a config line. A bad field raises ``MetadataError`` naming it, e.g.
``network.addresses[2].gateway: 'gw' is not an IPv4 address``.
"""
import ipaddress
import json
from typing import List, Optional, Tuple

from packetnetworking import lazylog
from packetnetworking.errors import MetadataError
from packetnetworking.records import FrozenRecord

log = lazylog.get(__name__)

#: Largest document accepted; real ones are a few KiB.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024

LINK_AGGREGATIONS = ("bonded", "mlag_ha", "individual")
DEFAULT_PRIVATE_SUBNETS = ("10.0.0.0/8",)

# The name and MAC checks below are written with string operations, not regular
# expressions: compiling the four patterns cost ~0.7 ms of every run
# (docs/performance.md). tests/test_string_checks.py checks them against the patterns
# they replace: hostname labels ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$,
# interface names ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$, MACs
# ^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$ or ^[0-9a-f]{4}(\.[0-9a-f]{4}){2}$.
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LABEL_CHARS = _ALNUM | {"-"}
# Linux interface names: at most 15 bytes; we also refuse anything that could
# break a file name (``/``), a config line (spaces, quotes, ``=``, ``#``) or an
# alias (``:``).
_IFNAME_CHARS = _ALNUM | {"_", ".", "-"}
_HEX = frozenset("0123456789abcdef")


def normalize_mac(value):
    """Return ``aa:bb:cc:dd:ee:ff`` or None when ``value`` is not a 48-bit MAC.

    Accepted: 12 hex digits, alone or in pairs joined by ``:`` or ``-`` (one
    separator throughout), or in three groups of four joined by ``.``."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if len(text) == 12:
        groups = [text]
    elif len(text) == 17 and text[2] in ":-":
        groups = text.split(text[2])
        if len(groups) != 6 or any(len(group) != 2 for group in groups):
            return None
    elif len(text) == 14:
        groups = text.split(".")
        if len(groups) != 3 or any(len(group) != 4 for group in groups):
            return None
    else:
        return None
    digits = "".join(groups)
    if not _HEX.issuperset(digits):
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


#: Names that are not free for a NIC or a bond: the loopback (ifupdown would bond
#: "iface lo"), the sysctl directories net.ipv*.conf.{all,default} and the bonding
#: driver's /sys/class/net/bonding_masters.
RESERVED_IFNAMES = frozenset({"lo", "all", "default", "bonding_masters"})


def check_ifname(value):
    """True when ``value`` is safe as a Linux interface name in every format."""
    return (isinstance(value, str) and 0 < len(value) <= 15 and value[0] in _ALNUM
            and _IFNAME_CHARS.issuperset(value) and ".." not in value
            and value not in RESERVED_IFNAMES)


def check_hostname(value):
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    return all(0 < len(label) <= 63 and label[0] in _ALNUM and label[-1] in _ALNUM
               and _LABEL_CHARS.issuperset(label) for label in value.split("."))


class Address(FrozenRecord):
    """One configured IP address with its gateway."""

    def __init__(self, interface: ipaddress._BaseAddress,  # IPv4Interface / IPv6Interface
                 gateway: Optional[ipaddress._BaseAddress], public: bool, management: bool,
                 enabled: bool):
        self.__dict__.update(interface=interface, gateway=gateway, public=public,
                             management=management, enabled=enabled)

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


class InterfaceSpec(FrozenRecord):
    """A ``network.interfaces`` entry: the provider's name, MAC and bond."""

    def __init__(self, name: str, mac: str, bond: Optional[str], dhcp: bool):
        self.__dict__.update(name=name, mac=mac, bond=bond, dhcp=dhcp)


class Metadata(FrozenRecord):
    """The validated document; ``raw`` is the decoded JSON, neither shown nor compared."""

    _not_in_repr = _not_compared = ("raw",)

    def __init__(self, hostname: str, plan: str, distro: Optional[str], version: Optional[str],
                 interfaces: Tuple[InterfaceSpec, ...], addresses: Tuple[Address, ...],
                 link_aggregation: str, bonding_mode: int, bond_mac: Optional[str],
                 private_subnets: Tuple[ipaddress.IPv4Network, ...], raw: Optional[dict] = None):
        self.__dict__.update(
            hostname=hostname, plan=plan, distro=distro, version=version, interfaces=interfaces,
            addresses=addresses, link_aggregation=link_aggregation, bonding_mode=bonding_mode,
            bond_mac=bond_mac, private_subnets=private_subnets, raw={} if raw is None else raw)

    @property
    def dhcp(self):
        return any(i.dhcp for i in self.interfaces)


def loads(data):
    """Decode a metadata document (bytes or str) and validate it."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise MetadataError(
            f"metadata document is {len(data)} bytes, more than the "
            f"{MAX_DOCUMENT_BYTES} accepted", "check the metadata source")
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise MetadataError(f"metadata is not UTF-8 text ({err.reason} at byte {err.start})",
                            "check the metadata source") from None
    except (ValueError, RecursionError) as err:  # ValueError: also a 5000-digit number
        where = f" (line {err.lineno} column {err.colno})" if hasattr(err, "lineno") else ""
        reason = getattr(err, "msg", None) or (
            "nested too deeply" if isinstance(err, RecursionError) else "a number is too long")
        raise MetadataError(f"metadata is not valid JSON{where}: {reason}",
                            "check the metadata source") from None
    return parse(doc)


class _Fields:
    """Small typed accessors that name the offending field on failure."""

    def __init__(self, obj, path):
        if not isinstance(obj, dict):
            raise MetadataError(f"{path or 'metadata'}: expected an object, got {_kind(obj)}")
        self.obj = obj
        self.path = path

    def name(self, key):
        return f"{self.path}.{key}" if self.path else key

    def get(self, key, kinds, required=True, default=None):
        if key not in self.obj or self.obj[key] is None:
            if required:
                raise MetadataError(f"{self.name(key)}: missing")
            return default
        value = self.obj[key]
        # bool is an int subclass: never accept it where a number is expected
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise MetadataError(
                f"{self.name(key)}: expected {_kinds_name(kinds)}, got {_kind(value)}")
        return value


def _tuple(kinds):
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _kinds_name(kinds):
    # "an integer" when fractions are refused, so "got 4.0" does not read as a contradiction
    names = {str: "a string", int: "a number" if float in _tuple(kinds) else "an integer",
             bool: "true or false", list: "a list", dict: "an object", float: "a number"}
    return " or ".join(dict.fromkeys(names[k] for k in _tuple(kinds)))


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"the number {value!r}"
    return {bool: "a boolean", int: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _short(value, limit=60):
    text = repr(value) if not isinstance(value, str) else value
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "..."


def parse(doc):
    """Validate a decoded document and return a ``Metadata``."""
    top = _Fields(doc, "")
    hostname = top.get("hostname", str)
    if not check_hostname(hostname):
        raise MetadataError(f"hostname: {_short(hostname)!r} is not a valid host name "
                            "(RFC 1123 labels of letters, digits and '-', at most 253 characters)")
    plan = top.get("plan", str, required=False, default="")
    distro = version = None
    os_info = top.get("operating_system", dict, required=False)
    if os_info is not None:
        osf = _Fields(os_info, "operating_system")
        distro = osf.get("distro", str, required=False)
        version = osf.get("version", (str, int, float), required=False)
        version = None if version is None else str(version)
    subnets = _parse_subnets(top)
    net = _Fields(top.get("network", dict), "network")
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
            raise MetadataError(f"{where}: expected a string, got {_kind(value)}")
        try:
            subnets.append(ipaddress.IPv4Network(value.strip(), strict=False))
        except ValueError:
            raise MetadataError(f"{where}: {_short(value)!r} is not an IPv4 network") from None
    return tuple(dict.fromkeys(subnets))


def _parse_interfaces(net):
    values = net.get("interfaces", list)
    interfaces = []
    seen_names, seen_macs = {}, {}
    for i, value in enumerate(values):
        where = f"network.interfaces[{i}]"
        f = _Fields(value, where)
        name = f.get("name", str)
        if not check_ifname(name):
            raise MetadataError(f"{where}.name: {_short(name)!r} is not a safe interface name "
                                "(1-15 letters, digits, '_', '-', '.'; no '/', '..', spaces or quotes)")
        raw_mac = f.get("mac", str)
        mac = normalize_mac(raw_mac)
        if mac is None:
            raise MetadataError(f"{where}.mac: {_short(raw_mac)!r} is not a MAC address")
        bond = f.get("bond", str, required=False)
        if bond is not None and not check_ifname(bond):
            raise MetadataError(f"{where}.bond: {_short(bond)!r} is not a safe bond name "
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


def _parse_addresses(net):
    values = net.get("addresses", list, required=False, default=[])
    addresses = []
    for i, value in enumerate(values):
        where = f"network.addresses[{i}]"
        f = _Fields(value, where)
        family = f.get("address_family", int)
        if family not in (4, 6):
            raise MetadataError(f"{where}.address_family: {family} is not 4 or 6")
        cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
        raw_ip = f.get("address", str)
        try:
            ip = _unscoped(cls(raw_ip.strip()))
        except ValueError:
            raise MetadataError(f"{where}.address: {_short(raw_ip)!r} is not an "
                                f"IPv{family} address") from None
        if ip.is_unspecified or ip.is_multicast:  # parsers refuse them on an interface
            raise MetadataError(f"{where}.address: {ip} is not a host address")
        prefix = _parse_prefix(f, where, family)
        if prefix == 0:  # netplan refuses it, and the "network" would be everything
            raise MetadataError(f"{where}: /0 is not a usable prefix for {ip}")
        # from the parsed value: formatting and re-parsing text costs ~10x more (IPv6)
        iface = (ipaddress.IPv4Interface if family == 4 else ipaddress.IPv6Interface)(
            (int(ip), prefix))
        gateway = None
        raw_gw = f.get("gateway", str, required=False)
        if raw_gw is not None:
            try:
                gateway = _unscoped(cls(raw_gw.strip()))
            except ValueError:
                raise MetadataError(f"{where}.gateway: {_short(raw_gw)!r} is not an "
                                    f"IPv{family} address") from None
            # the kernel refuses a route via these, on-link or not
            if gateway.is_unspecified or gateway.is_multicast or gateway == _BROADCAST:
                raise MetadataError(f"{where}.gateway: {gateway} is not a usable gateway")
            if gateway not in iface.network:
                log.warning("%s.gateway: %s is not in %s: routes via it are written on-link",
                            where, gateway, iface)
        addresses.append(Address(
            interface=iface, gateway=gateway,
            public=f.get("public", bool, required=False, default=False),
            management=f.get("management", bool, required=False, default=False),
            enabled=f.get("enabled", bool, required=False, default=True)))
    return tuple(addresses)


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
        raise MetadataError(f"{where}.netmask: {_short(netmask)!r} is not an IPv{family} netmask "
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
    bonding = net.get("bonding", dict, required=False, default={})
    f = _Fields(bonding, "network.bonding")
    link = f.get("link_aggregation", str, required=False, default="bonded")
    if link not in LINK_AGGREGATIONS:
        raise MetadataError(f"network.bonding.link_aggregation: {_short(link)!r} is not one of "
                            f"{', '.join(LINK_AGGREGATIONS)} or null")
    mode = f.get("mode", int, required=False, default=4)
    if not 0 <= mode <= 6:
        raise MetadataError(f"network.bonding.mode: {mode} is not a bonding mode from 0 to 6")
    bond_mac = None
    raw_mac = f.get("mac", str, required=False)
    if raw_mac is not None:
        bond_mac = normalize_mac(raw_mac)
        if bond_mac is None:
            raise MetadataError(f"network.bonding.mac: {_short(raw_mac)!r} is not a MAC address")
    return link, mode, bond_mac
