"""RedHat family: ifcfg-rh files under etc/sysconfig/network-scripts."""
import logging

from packetnetworking.builder import DistroBuilder, NetworkBuilder, Task
from packetnetworking.distros.common import HostFilesBuilder

log = logging.getLogger(__name__)

SCRIPTS = "etc/sysconfig/network-scripts"

#: Production images of these disable NetworkManager and use network-scripts;
#: RHEL keeps NetworkManager (which reads the same ifcfg files).
NM_LINKS = (
    "etc/systemd/system/dbus-org.freedesktop.NetworkManager.service",
    "etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service",
    "etc/systemd/system/multi-user.target.wants/NetworkManager.service",
)
KEEPS_NETWORKMANAGER = ("rhel", "redhatenterprise", "redhatenterpriseserver")


class IfcfgBondedBuilder(NetworkBuilder):
    """bonded / mlag_ha: ifcfg-bondN, one ifcfg per slave, alias and routes on bond0."""

    layouts = ("bonded",)

    def build_tasks(self):
        net = self.network
        self.tasks["etc/sysconfig/network"] = "network.j2"
        for bond in net.bonds:
            self.tasks[f"{SCRIPTS}/ifcfg-{bond.name}"] = self.template("ifcfg-bond.j2", bond=bond)
            for iface in bond.members:
                self.tasks[f"{SCRIPTS}/ifcfg-{iface.name}"] = self.template(
                    "ifcfg-slave.j2", iface=iface, bond=bond)
        if net.ipv4_alias:
            self.tasks[f"{SCRIPTS}/ifcfg-{net.device}:0"] = "ifcfg-alias.j2"
        if net.private_routes:
            self.tasks[f"{SCRIPTS}/route-{net.device}"] = "route.j2"
        self.tasks["etc/modprobe.d/bonding.conf"] = "bonding.conf.j2"
        self.tasks["sbin/ifup-pre-local"] = Task(template="ifup-pre-local.j2", mode=0o755)

    def context(self):
        return {"scripts": SCRIPTS}


class NetworkManagerRemovalBuilder(NetworkBuilder):
    """Production CentOS/Rocky/Alma images run network-scripts, not NetworkManager."""

    def applies(self):
        return self.os.distro not in KEEPS_NETWORKMANAGER

    def build_tasks(self):
        for path in NM_LINKS:
            self.tasks[path] = None


class RedHatBuilder(DistroBuilder):
    family = "redhat"
    distros = ["centos", "rhel", "redhatenterprise", "redhatenterpriseserver", "scientific",
               "rocky", "almalinux", "fedora"]
    network_builders = [HostFilesBuilder]
    native_stacks = {"ifcfg": [IfcfgBondedBuilder, NetworkManagerRemovalBuilder]}
    accepted_stacks = ("ifcfg",)
