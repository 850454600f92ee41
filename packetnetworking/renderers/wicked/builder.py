"""The ``wicked`` renderer's files: SUSE ifcfg files under etc/sysconfig/network.

The keys differ from ifcfg-rh: ``STARTMODE``, ``BONDING_SLAVE_N``,
``BONDING_MODULE_OPTS``, ``LLADDR``, addresses as ``IPADDR[_suffix]='a/prefix'``,
routes in ``ifroute-<device>`` and ``routes`` (wicked's ifcfg(5), ifcfg-bonding(5),
ifroute(5)). Values are single-quoted, as YaST writes them.
"""
from packetnetworking import model
from packetnetworking.builder import NetworkBuilder

SYSCONFIG = "etc/sysconfig/network"
#: wicked ignores an address label longer than an interface name (15 characters).
MAX_LABEL = 15


class WickedNetworkBuilder(NetworkBuilder):
    """The alias label and the route files of the device carrying the addresses."""

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


class WickedBuilder(WickedNetworkBuilder):
    """An ifcfg file per device of the model (``NetworkModel.devices``), the routes on
    the device carrying the addresses.

    A NIC that carries nothing (the individual layout's other NICs, ``bare``; a hybrid
    server's NICs in no bond, ``alone``) gets ``STARTMODE='manual'``: configured without
    address, not started at boot, and no installer's ifcfg for it (moved aside) starts
    DHCP on it."""

    def build_tasks(self):
        for device in self.network.devices:
            path = f"{SYSCONFIG}/ifcfg-{device.name}"
            if device.iface is None:
                self.tasks[path] = self.template("ifcfg-bond.j2", bond=device.bond,
                                                 role=device.role)
            elif device.role == model.PORT:
                self.tasks[path] = self.template("ifcfg-slave.j2", iface=device.iface,
                                                 bond=device.bond)
            else:
                self.tasks[path] = self.template("ifcfg-nic.j2", iface=device.iface,
                                                 role=device.role)
        self.route_tasks()


class NetconfigDNSBuilder(NetworkBuilder):
    """netconfig rewrites etc/resolv.conf from NETCONFIG_DNS_STATIC_SERVERS whenever
    wicked brings an interface up (and Leap links resolv.conf into /run): set the
    servers there too, appended so the rest of the file is kept (the file is sourced:
    the last assignment wins)."""

    def applies(self):
        return not self.network.dhcp

    def build_tasks(self):
        if self.network.resolvers:
            self.tasks[f"{SYSCONFIG}/config"] = self.template("netconfig.j2", append=True)
