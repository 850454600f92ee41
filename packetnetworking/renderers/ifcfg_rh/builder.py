"""The ``ifcfg-rh`` renderer's files: ``ifcfg-<device>``, ``route-`` / ``route6-``,
the alias, ``etc/sysconfig/network``, the bonding options and ``ifup-pre-local``.

Which device is a bond, member or spare comes from the model; the RedHat family
adds what depends on the release (NetworkManager, name pinning).
"""
import logging

from packetnetworking import model
from packetnetworking.builder import NetworkBuilder, Task
from packetnetworking.renderers.ifcfg_rh.foreign import SCRIPTS

log = logging.getLogger(__name__)

#: An alias label (``bond0:0``) is an interface name: at most 15 characters.
MAX_LABEL = 15


class IfcfgNetworkBuilder(NetworkBuilder):
    """The template context and the files on the device carrying the addresses."""

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


class IfcfgBuilder(IfcfgNetworkBuilder):
    """An ifcfg file per device of the model (``NetworkModel.devices``), the alias and
    routes on the device carrying the addresses; with bonds, their module options and
    the members' staggered bring-up (``ifup-pre-local``).

    A NIC that carries nothing (the individual layout's other NICs, ``bare``; a hybrid
    server's NICs in no bond, ``alone``) gets a file with ``ONBOOT=no``: it is not
    brought up, and neither an old ifcfg (moved aside) nor NetworkManager's automatic
    DHCP profile (made only for a NIC no connection serves) configures it behind the
    operator's back."""

    def build_tasks(self):
        net = self.network
        self.tasks["etc/sysconfig/network"] = "network.j2"
        inline = not self.alias_fits()
        for device in net.devices:
            path = f"{SCRIPTS}/ifcfg-{device.name}"
            if device.iface is None:
                self.tasks[path] = self.template("ifcfg-bond.j2", bond=device.bond,
                                                 role=device.role, alias_inline=inline)
            elif device.role == model.PORT:
                self.tasks[path] = self.template("ifcfg-slave.j2", iface=device.iface,
                                                 bond=device.bond)
            else:
                self.tasks[path] = self.template("ifcfg-nic.j2", iface=device.iface,
                                                 role=device.role, alias_inline=inline)
        self.address_tasks()
        if net.bonds:
            self.tasks["etc/modprobe.d/bonding.conf"] = "bonding.conf.j2"
            self.tasks["sbin/ifup-pre-local"] = Task(template="ifup-pre-local.j2", mode=0o755)

