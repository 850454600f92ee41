"""The ``wicked`` renderer's files: SUSE ifcfg files under etc/sysconfig/network.

The keys differ from ifcfg-rh: ``STARTMODE``, ``BONDING_SLAVE_N``,
``BONDING_MODULE_OPTS``, ``LLADDR``, addresses as ``IPADDR[_suffix]='a/prefix'``,
routes in ``ifroute-<device>`` and ``routes`` (wicked's ifcfg(5), ifcfg-bonding(5),
ifroute(5)). Values are single-quoted, as YaST writes them.
"""
from packetnetworking.builder import NetworkBuilder

SYSCONFIG = "etc/sysconfig/network"
#: wicked ignores an address label longer than an interface name (15 characters).
MAX_LABEL = 15


class WickedNetworkBuilder(NetworkBuilder):
    """What the wicked builders share: device roles and the address/route files."""

    def context(self):
        label = f"{self.network.device}:0"
        return {"alias_label": label if len(label) <= MAX_LABEL else None}

    def route_tasks(self):
        net = self.network
        if net.dhcp:
            return
        if net.private_routes:
            self.tasks[f"{SYSCONFIG}/ifroute-{net.device}"] = "ifroute.j2"
        self.tasks[f"{SYSCONFIG}/routes"] = "routes.j2"


class WickedBondedBuilder(WickedNetworkBuilder):
    """bonded / mlag_ha (static or DHCP): ifcfg-bondN with its slaves, routes on bond0."""

    layouts = ("bonded", "dhcp")

    def applies(self):
        return super().applies() and self.network.bonded

    def build_tasks(self):
        for bond in self.network.bonds:
            role = self.network.device_role(bond.name, any(i.dhcp for i in bond.members))
            self.tasks[f"{SYSCONFIG}/ifcfg-{bond.name}"] = self.template(
                "ifcfg-bond.j2", bond=bond, role=role)
            for iface in bond.members:
                self.tasks[f"{SYSCONFIG}/ifcfg-{iface.name}"] = self.template(
                    "ifcfg-slave.j2", iface=iface, bond=bond)
        self.route_tasks()


class WickedIndividualBuilder(WickedNetworkBuilder):
    """individual (static or DHCP): the first NIC carries the addresses; the other
    matched NICs are STARTMODE='manual' (configured, not started at boot)."""

    layouts = ("individual", "dhcp")

    def applies(self):
        return super().applies() and not self.network.bonded

    def build_tasks(self):
        for iface in self.network.physical_interfaces:
            role = self.network.device_role(iface.name, iface.dhcp)
            role = "off" if role == "none" else role
            self.tasks[f"{SYSCONFIG}/ifcfg-{iface.name}"] = self.template(
                "ifcfg-nic.j2", iface=iface, role=role)
        self.route_tasks()


class NetconfigDNSBuilder(NetworkBuilder):
    """netconfig rewrites etc/resolv.conf from NETCONFIG_DNS_STATIC_SERVERS whenever
    wicked brings an interface up (and Leap links resolv.conf into /run): set the
    servers there too, appended so the rest of the file is kept (the file is sourced:
    the last assignment wins)."""

    layouts = ("bonded", "individual")

    def build_tasks(self):
        if self.network.resolvers:
            self.tasks[f"{SYSCONFIG}/config"] = self.template("netconfig.j2", append=True)
