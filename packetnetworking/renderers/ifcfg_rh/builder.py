"""The ``ifcfg-rh`` renderer's files: ``ifcfg-<device>``, ``route-`` / ``route6-``,
the alias, ``etc/sysconfig/network``, the bonding options and ``ifup-pre-local``.

Which device is a bond, member or spare comes from the model; the RedHat family
adds what depends on the release (NetworkManager, name pinning).
"""
import logging

from packetnetworking.builder import NetworkBuilder, Task
from packetnetworking.renderers.ifcfg_rh.foreign import SCRIPTS

log = logging.getLogger(__name__)

#: An alias label (``bond0:0``) is an interface name: at most 15 characters.
MAX_LABEL = 15


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
