"""RedHat family: ifcfg-rh files under etc/sysconfig/network-scripts.

Who reads the files depends on the release (see ``RELEASES``): the legacy
network-scripts service (CentOS/Scientific 7, and CentOS/Rocky/Alma 8 images
that carry it) or NetworkManager's ifcfg-rh plugin (RHEL, every 9, Fedora).
Both read the same files; only the NetworkManager link removals and the
name pinning (udev rules, systemd ``.link`` files) differ.
"""
import logging

from packetnetworking.builder import DistroBuilder, NetworkBuilder, Task
from packetnetworking.distros.common import HostFilesBuilder
from packetnetworking.distros.redhat.foreign import IFCFG_RH
from packetnetworking.releases import Release
from packetnetworking.releases import names as distro_names
from packetnetworking.stacks.selection import NETWORK_SCRIPTS, NETWORKMANAGER

log = logging.getLogger(__name__)

SCRIPTS = "etc/sysconfig/network-scripts"

#: The links whose removal disables NetworkManager (production CentOS/Rocky/Alma images).
NM_LINKS = (
    "etc/systemd/system/dbus-org.freedesktop.NetworkManager.service",
    "etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service",
    "etc/systemd/system/multi-user.target.wants/NetworkManager.service",
)
#: What tells that the target has the legacy network service (initscripts on 7, the
#: network-scripts package on 8) or NetworkManager: the markers --renderer auto uses.
LEGACY_NETWORK_MARKERS = NETWORK_SCRIPTS
NETWORKMANAGER_MARKERS = NETWORKMANAGER
#: An alias label (``bond0:0``) is an interface name: at most 15 characters.
MAX_LABEL = 15

# What happens to NetworkManager when the ifcfg stack is written.
REMOVE = "remove"                    # network-scripts always present: disable NetworkManager
REMOVE_IF_LEGACY = "remove-if-legacy"  # disable it only if the target has network-scripts
KEEP = "keep"                        # NetworkManager reads the ifcfg files

_EL7 = dict(networkmanager=REMOVE)
_EL8 = dict(networkmanager=REMOVE_IF_LEGACY)
_EL9 = dict(networkmanager=KEEP, link_files=True)   # 10 and Fedora too
_RHEL = dict(networkmanager=KEEP)                    # RHEL 7 and 8 run NetworkManager

#: Rules per distro, one per release (``Release`` of packetnetworking.releases).
RELEASES = {
    "centos": (Release((7,), **_EL7), Release((8,), **_EL8), Release((9,), **_EL9),
               Release((10,), **_EL9)),
    "scientific": (Release((7,), **_EL7),),
    "rhel": (Release((7,), **_RHEL), Release((8,), **_RHEL), Release((9,), **_EL9),
             Release((10,), **_EL9)),
    "rocky": (Release((8,), **_EL8), Release((9,), **_EL9), Release((10,), **_EL9)),
    "almalinux": (Release((8,), **_EL8), Release((9,), **_EL9), Release((10,), **_EL9)),
    "fedora": (Release((), **_EL9),),  # every Fedora release
}


class IfcfgNetworkBuilder(NetworkBuilder):
    """What the ifcfg builders share: each device's role and the template context."""

    def context(self):
        return {"scripts": SCRIPTS}

    def alias_fits(self):
        return len(f"{self.network.device}:0") <= MAX_LABEL

    def address_tasks(self):
        """Private alias, private routes and on-link default routes on the device carrying
        the static addresses."""
        net = self.network
        if net.dhcp:
            return
        if net.ipv4_alias and self.alias_fits():
            self.tasks[f"{SCRIPTS}/ifcfg-{net.device}:0"] = "ifcfg-alias.j2"
        elif net.ipv4_alias:
            log.warning("alias %s:0 would be longer than %d characters: the private address "
                        "goes into ifcfg-%s as IPADDR1", net.device, MAX_LABEL, net.device)
        if net.private_routes or (net.ipv4 and net.ipv4.onlink):
            self.tasks[f"{SCRIPTS}/route-{net.device}"] = "route.j2"
        if net.ipv6 and net.ipv6.onlink:
            self.tasks[f"{SCRIPTS}/route6-{net.device}"] = "route6.j2"


class IfcfgBondedBuilder(IfcfgNetworkBuilder):
    """bonded / mlag_ha (static or DHCP): ifcfg-bondN, one ifcfg per slave, alias and
    routes on bond0."""

    layouts = ("bonded", "dhcp")

    def applies(self):
        return super().applies() and self.network.bonded

    def build_tasks(self):
        net = self.network
        self.tasks["etc/sysconfig/network"] = "network.j2"
        for bond in net.bonds:
            role = self.network.device_role(bond.name, any(i.dhcp for i in bond.members))
            self.tasks[f"{SCRIPTS}/ifcfg-{bond.name}"] = self.template(
                "ifcfg-bond.j2", bond=bond, role=role, alias_inline=not self.alias_fits())
            for iface in bond.members:
                self.tasks[f"{SCRIPTS}/ifcfg-{iface.name}"] = self.template(
                    "ifcfg-slave.j2", iface=iface, bond=bond)
        self.address_tasks()
        self.tasks["etc/modprobe.d/bonding.conf"] = "bonding.conf.j2"
        self.tasks["sbin/ifup-pre-local"] = Task(template="ifup-pre-local.j2", mode=0o755)


class IfcfgIndividualBuilder(IfcfgNetworkBuilder):
    """individual (static or DHCP): the first NIC carries the addresses; the other
    matched NICs get a file with ONBOOT=no so nothing (an old ifcfg, NetworkManager's
    automatic DHCP profile) brings them up behind the operator's back."""

    layouts = ("individual", "dhcp")

    def applies(self):
        return super().applies() and not self.network.bonded

    def build_tasks(self):
        net = self.network
        self.tasks["etc/sysconfig/network"] = "network.j2"
        for iface in net.physical_interfaces:
            role = self.network.device_role(iface.name, iface.dhcp)
            role = "off" if role == "none" else role
            self.tasks[f"{SCRIPTS}/ifcfg-{iface.name}"] = self.template(
                "ifcfg-nic.j2", iface=iface, role=role, alias_inline=not self.alias_fits())
        self.address_tasks()


class NetworkManagerRemovalBuilder(NetworkBuilder):
    """Where network-scripts run the ifcfg files, NetworkManager must not fight them:
    remove the links that start it (part of the ifcfg stack only)."""

    def applies(self):
        return not self.distro_builder.keeps_networkmanager()

    def build_tasks(self):
        for path in NM_LINKS:
            self.tasks[path] = None


class NamePinningBuilder(NetworkBuilder):
    """Pin each matched NIC's name to its MAC, so the name in the config files is the
    name the NIC gets: udev rules wherever NetworkManager runs, plus systemd ``.link``
    files on releases whose naming can change (9) unless the networkd stack already
    writes its own."""

    def build_tasks(self):
        distro = self.distro_builder
        if distro.keeps_networkmanager():
            self.tasks["etc/udev/rules.d/70-persistent-net.rules"] = "70-persistent-net.rules.j2"
        if distro.release.link_files and distro.stack != "networkd":
            for iface in self.network.physical_interfaces:
                self.tasks[f"etc/systemd/network/70-{iface.name}.link"] = self.template(
                    "name.link.j2", iface=iface)


class RedHatBuilder(DistroBuilder):
    family = "redhat"
    distros = distro_names("centos", "rhel", "scientific", "rocky", "almalinux", "fedora")
    releases = RELEASES
    network_builders = [HostFilesBuilder, NamePinningBuilder]
    native_stacks = {"ifcfg": [IfcfgBondedBuilder, IfcfgIndividualBuilder,
                               NetworkManagerRemovalBuilder]}
    accepted_stacks = ("ifcfg", "networkmanager", "networkd")
    stack_configs = (IFCFG_RH,)

    _keeps_nm = None

    def keeps_networkmanager(self):
        """False only when the ifcfg stack is written for a release whose network-scripts
        run the files (then NetworkManager is disabled); decided once per run."""
        if self._keeps_nm is None:
            self._keeps_nm = self._decide_networkmanager()
        return self._keeps_nm

    def _decide_networkmanager(self):
        if self.stack not in (None, "ifcfg"):
            return True
        policy = self.release.networkmanager
        if policy != REMOVE_IF_LEGACY:
            return policy == KEEP
        if self.target.any(*LEGACY_NETWORK_MARKERS):
            return False
        if self.target.any(*NETWORKMANAGER_MARKERS):
            log.info("%s: the target has NetworkManager but not the legacy network-scripts: "
                     "NetworkManager is kept and reads the ifcfg files", self.os)
            return True
        return False  # the root tells nothing: production images run network-scripts
