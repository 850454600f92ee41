"""The network model: validated metadata matched to the machine's NICs.

This is what builders and templates read. Everything non-trivial (which
address is primary, which NIC is in which bond, bond options per mode) is
decided here, once, so templates only print values.
"""
import ipaddress
import logging
import re
from dataclasses import dataclass, field, replace
from typing import List, Optional, Tuple

from packetnetworking.errors import MetadataError, NICError, UnsupportedOS
from packetnetworking.metadata import FIX_DOCUMENT
from packetnetworking.releases import canonical_name, codename_version, find_distro

log = logging.getLogger(__name__)

BOND_MODE_NAMES = {
    0: "balance-rr", 1: "active-backup", 2: "balance-xor", 3: "broadcast",
    4: "802.3ad", 5: "balance-tlb", 6: "balance-alb",
}
#: Options used in production; hash policy only where the mode hashes, LACP rate only for LACP.
BOND_MIIMON, BOND_UPDELAY, BOND_DOWNDELAY = 100, 200, 200
BOND_HASH_MODES = (2, 4)
BOND_XMIT_HASH_POLICY = "layer3+4"


@dataclass(frozen=True)
class OperatingSystem:
    """The target OS: ``distro`` (the tool's name for it) and ``version`` lower-cased
    (a codename replaced by its number), the originals kept."""

    distro: str
    version: str
    orig_distro: str = ""
    orig_version: str = ""

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


#: What ``-o`` says for a part lsb_release could not tell.
NOT_AVAILABLE = "n/a"
#: Where the installed system describes itself, relative to the target root.
OS_RELEASE_FILES = ("etc/os-release", "usr/lib/os-release")


def parse_os(option, metadata, target=None):
    """The target's OS, from the first source that names it.

    1. ``-o 'DISTRO VERSION'`` (OSIE passes ``lsb_release -si`` without spaces and
       ``-sr``: ``RedHatEnterpriseServer 7.9``, ``Debian trixie/sid``).
    2. ``-o DISTRO`` or ``-o 'DISTRO n/a'``: that distro; the version from the
       metadata when it names the same distro, else from the target's os-release
       when that does, else none (the family's newest rule, with a WARNING).
    3. The target root's os-release (``target``: a TargetRoot, or None), when
       ``-o`` is absent or ``n/a``; when the metadata names another OS, WARNING.
    4. The metadata's ``operating_system``.
    """
    distro, version = _split_option(option)
    meta_os = _make_os(metadata.distro, metadata.version or "") if metadata.distro else None
    if distro and version:
        return _make_os(distro, version)
    installed = installed_os(target) if target is not None else None
    if distro:
        chosen = _make_os(distro, "")
        for other, where in ((meta_os, "the metadata"), (installed, "the target's os-release")):
            if other is not None and other.distro == chosen.distro and other.version:
                log.info("-o %r names no version: %s %s, the version from %s",
                         option, chosen.distro, other.version, where)
                return replace(chosen, version=other.version, orig_version=other.orig_version)
        log.info("-o %r names no version, and neither the metadata nor the target's "
                 "os-release gives one for %s", option, chosen.distro)
        return chosen
    if installed is not None:
        if meta_os is not None and _disagree(installed, meta_os):
            log.warning("the target root has %s installed but the metadata says %s: "
                        "writing for %s", installed, meta_os, installed)
        if not installed.version and meta_os is not None and meta_os.distro == installed.distro:
            return replace(installed, version=meta_os.version, orig_version=meta_os.orig_version)
        return installed
    if meta_os is not None:
        return meta_os
    raise UnsupportedOS("no operating system: no -o, no etc/os-release in the target root "
                        "and no operating_system.distro in the metadata",
                        "pass -o 'DISTRO VERSION', e.g. -o 'ubuntu 24.04'")


def _split_option(option):
    """``(distro, version)`` of ``-o``; each None when absent or ``n/a``."""
    words = (option or "").split()
    if len(words) > 2:
        raise UnsupportedOS(f"-o {option!r} has more than two words",
                            "pass -o 'DISTRO VERSION', e.g. -o 'centos 7'")
    words = [None if w.lower() == NOT_AVAILABLE else w for w in words] + [None, None]
    return words[0], words[1]


def _make_os(distro, version):
    version = version.strip()
    return OperatingSystem(distro=canonical_name(distro),
                           version=codename_version(distro, version).lower(),
                           orig_distro=distro, orig_version=version)


def _disagree(one, other):
    """Different distros, or versions whose leading numbers differ."""
    if one.distro != other.distro:
        return True
    common = min(len(one.version_tuple), len(other.version_tuple))
    return one.version_tuple[:common] != other.version_tuple[:common]


def read_os_release(text):
    """``{KEY: value}`` of an os-release file (quotes and backslash escapes removed)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#") or not key.isidentifier():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = re.sub(r"\\(.)", r"\1", value)
    return values


def installed_os(target):
    """The OS the target root says it has (its os-release), or None.

    ``ID`` names the distro; an ID the tool does not know is looked up in
    ``ID_LIKE`` (with a WARNING). The version is ``VERSION_ID``, else the
    ``VERSION_CODENAME`` (Debian testing has only the codename).
    """
    for path in OS_RELEASE_FILES:
        text = target.read(path)
        if text is not None:
            break
    else:
        return None
    fields = read_os_release(text)
    distro = fields.get("ID", "").strip()
    version = fields.get("VERSION_ID", "").strip() or fields.get("VERSION_CODENAME", "").strip()
    if not distro:
        log.warning("%s has no ID: the target root does not say which OS it is", path)
        return None
    if find_distro(distro) is None:
        like = next((w for w in fields.get("ID_LIKE", "").split() if find_distro(w)), None)
        if like is None:
            log.info("%s: ID=%s is not a distro this tool knows", path, distro)
            return _make_os(distro, version)
        log.warning("%s: ID=%s is not a distro this tool knows; writing for %s, "
                    "named in its ID_LIKE", path, distro, canonical_name(like))
        distro = like
    found = _make_os(distro, version)
    log.info("%s says %s", path, found)
    return found


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
                             str(net.netmask), str(private.gateway))
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
    cidr: str
    prefix: int
    network: str
    netmask: str
    gateway: str


_DOTTED_NUMBERS = re.compile(r"\d+(?:\.\d+)*")
_NUMBERS = re.compile(r"(\d+)")


def _leading_numbers(text):
    """The first dotted run of decimal numbers in ``text``: ``'stream-9.3'`` -> (9, 3)."""
    match = _DOTTED_NUMBERS.search(text)
    return tuple(int(part) for part in match.group().split(".")) if match else ()


def _natural_key(name):
    """``'eth10'`` sorts after ``'eth9'``: text and numbers alternate, text first
    (``re.split`` with a group puts the numbers at the odd places)."""
    return [int(part) if i % 2 else part for i, part in enumerate(_NUMBERS.split(name))]


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
    check_addressable(model, metadata.source)
    return model


def check_addressable(model, source="metadata"):
    """Without DHCP something must carry an address with a gateway."""
    if model.dhcp:
        return
    if model.ipv4 is None and model.ipv6 is None:
        raise MetadataError(f"{source}: network.addresses: no enabled management address, and "
                            "no interface asks for DHCP: nothing can be configured",
                            FIX_DOCUMENT)
    for address in (model.ipv4, model.ipv6):
        if address is not None and address.gateway is None:
            raise MetadataError(f"{source}: network.addresses: {address.cidr} carries a default "
                                "route but has no gateway", FIX_DOCUMENT)
