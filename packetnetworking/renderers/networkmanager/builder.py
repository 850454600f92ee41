"""NetworkManager keyfiles: ``etc/NetworkManager/system-connections/<id>.nmconnection``.

One connection per device of the model (``NetworkModel.devices``, which says what
each does): a bond connection per bond (options, ``cloned-mac-address``, the
addresses or DHCP on the device that carries them, none on the others), a port
connection per bond member, and an ethernet connection per other NIC, matched by
its permanent MAC (addressed, DHCP, or up without addresses). Decisions, and why:

- A NIC the model leaves alone (a hybrid server's NIC in no bond) gets an
  ethernet connection with ``autoconnect=false`` and both IP families disabled:
  nothing brings it up, and NetworkManager does not make its automatic
  "Wired connection N" DHCP profile for it (it makes one only for a NIC that no
  connection locked to its MAC can serve, whatever that connection's
  autoconnect). The operator edits or activates that connection later.
- Ports name their bond with ``master=`` / ``slave-type=``: NetworkManager 1.46
  added ``controller=`` / ``port-type=`` but keeps reading the old keys, while
  1.42 (Debian 12, RHEL 9.2) and 1.40 (RHEL 8) ignore the new ones silently,
  which would leave the NICs outside the bond.
- Ethernet connections match the NIC by MAC only (no ``interface-name``), so
  they still apply when the installed OS names the NIC differently from the
  provisioning environment.
- Every connection gets a stable uuid (libnm refuses a keyfile without one) and
  ``autoconnect-priority`` above cloud-init's (120) and the installer's, so
  stale connections for the same NICs left in the image lose; they are not
  deleted.
- Bonds do not set ``autoconnect-slaves``: the ports autoconnect and bring the
  bond up. With it, NetworkManager re-activated ports that had just
  autoconnected; on Debian, ifenslave's ifupdown hook (run by NetworkManager's
  dispatcher for the "down") then freed each port from the bond seconds after
  it was re-attached, in a loop (seen booting Debian 12).
- A gateway outside its address's network (``Address.onlink``) is not written as
  ``gateway=``: the kernel refuses a route via it unless the route is on-link; 1.42
  works around it with a host route to the gateway, but older releases failed the
  activation ("route-sync: failure to add IPv4 route ... Invalid argument").
  Instead the default route is a manual ``0.0.0.0/0`` (``::/0``) route with the route
  attribute ``onlink=true`` (documented in nm-settings(5): the next hop is on this
  link even if it matches no prefix of the interface), as netplan's NetworkManager
  renderer writes it; private routes via such a gateway carry the attribute too.
- No IPv6 in the metadata: ``ipv6.method=disabled`` (no SLAAC surprises);
  bonds other than the primary are up with both families disabled; DHCP uses
  ``method=auto`` for IPv4 and IPv6 and takes DNS from the lease.
"""
import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from packetnetworking import model
from packetnetworking.builder import NetworkBuilder
from packetnetworking.renderers.networkmanager.foreign import KEYFILE_DIR
from packetnetworking.errors import MetadataError

log = logging.getLogger(__name__)

KEYFILE_MODE = 0o600
#: Above cloud-init (120), anaconda (-100 / 0) and NetworkManager's own
#: "Wired connection N" profiles; below the maximum (999) so an operator can
#: still outrank us.
AUTOCONNECT_PRIORITY = 200
#: Fixed namespace: a connection's uuid depends on its id only, so two runs
#: write byte-identical files.
UUID_NAMESPACE = uuid.UUID("5d6f3b0e-8f2a-4c61-9a47-3e1b2c7d9f10")

# Everything a keyfile value may hold: names, IPs, prefixes, MACs, bond options.
# No whitespace, ``,`` (address/route fields), ``;`` (list items), ``\\``
# (escapes), ``#``, ``[`` or ``=``: no value can add a line, a key or an item.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_.:/+-]+")


def connection_uuid(conn_id):
    return str(uuid.uuid5(UUID_NAMESPACE, f"packet-networking:{conn_id}"))


def keyfile_value(value, what):
    """``value`` as text, refused (bad input) if it could break a keyfile line."""
    text = str(value)
    if not _SAFE_VALUE.fullmatch(text):
        raise MetadataError(f"{what}: {text!r} cannot be written into a NetworkManager "
                            "keyfile", "check the metadata")
    return text


@dataclass(frozen=True)
class Route:
    """``routeN=cidr,gateway``; ``onlink`` adds ``routeN_options=onlink=true``."""

    cidr: str
    gateway: str
    onlink: bool = False


@dataclass(frozen=True)
class IPSettings:
    """One ``[ipv4]`` or ``[ipv6]`` section: ``method`` is manual, auto or disabled;
    ``addresses`` are "ADDR/PREFIX", primary first."""

    method: str
    addresses: Tuple[str, ...] = ()
    gateway: Optional[str] = None
    routes: Tuple[Route, ...] = ()
    dns: Tuple[str, ...] = ()

    def checked(self, what):
        for value in self.addresses + self.dns + ((self.gateway,) if self.gateway else ()):
            keyfile_value(value, what)
        for route in self.routes:
            keyfile_value(route.cidr, what)
            keyfile_value(route.gateway, what)
        keyfile_value(self.method, what)
        return self


DISABLED = IPSettings("disabled")
AUTO = IPSettings("auto")


@dataclass(frozen=True)
class Connection:
    """What one keyfile says; templates print these fields as they are.

    - ``type``: bond or ethernet;
    - ``interface_name``: bonds only;
    - ``mac``: ethernet, the NIC's permanent MAC;
    - ``cloned_mac``: bonds, the MAC the bond carries;
    - ``master``: ports, the bond's interface name;
    - ``ipv4``, ``ipv6``: None for no IP section (ports).
    """

    id: str
    type: str
    interface_name: Optional[str] = None
    mac: Optional[str] = None
    cloned_mac: Optional[str] = None
    bond_options: List[Tuple[str, str]] = field(default_factory=list)
    master: Optional[str] = None
    ipv4: Optional[IPSettings] = None
    ipv6: Optional[IPSettings] = None
    priority: int = AUTOCONNECT_PRIORITY
    autoconnect: bool = True

    @property
    def uuid(self):
        return connection_uuid(self.id)

    @property
    def path(self):
        return f"{KEYFILE_DIR}/{self.id}.nmconnection"

    @property
    def ip_sections(self):
        """``[("ipv4", IPSettings), ("ipv6", IPSettings)]``, empty for ports."""
        return [(name, ip) for name, ip in (("ipv4", self.ipv4), ("ipv6", self.ipv6))
                if ip is not None]

    def checked(self):
        what = f"NetworkManager connection {self.id!r}"
        for value in (self.id, self.type, self.interface_name, self.mac, self.cloned_mac,
                      self.master):
            if value is not None:
                keyfile_value(value, what)
        for key, value in self.bond_options:
            keyfile_value(key, what)
            keyfile_value(value, what)
        for _, ip in self.ip_sections:
            ip.checked(what)
        return self


def _default_route(address, default):
    """``(gateway=, routes)`` for ``address``'s default route: ``gateway=`` as usual, an
    on-link manual route when the gateway lies outside the address's network."""
    if address.onlink:
        return None, (Route(default, str(address.gateway), onlink=True),)
    return str(address.gateway), ()


class KeyfileBuilder(NetworkBuilder):
    """A keyfile per device of the model."""

    templates_package = "packetnetworking.renderers.networkmanager"

    def add(self, conn, template):
        conn.checked()
        if conn.path in self.tasks:
            raise MetadataError(f"two NetworkManager connections would be named {conn.id!r}",
                                "check the interface and bond names in the metadata")
        self.tasks[conn.path] = self.template(template, mode=KEYFILE_MODE, conn=conn)

    def _resolvers(self, family):
        return tuple(r for r in self.network.resolvers
                     if ipaddress.ip_address(r).version == family)

    def static_ipv4(self):
        net = self.network
        if net.ipv4 is None:
            if self._resolvers(4):
                log.info("no IPv4 address: IPv4 nameservers left out of the keyfiles")
            return DISABLED
        addresses = [net.ipv4.cidr] + ([net.ipv4_alias.cidr] if net.ipv4_alias else [])
        gateway, routes = _default_route(net.ipv4, "0.0.0.0/0")
        routes += tuple(Route(r.cidr, r.gateway, r.onlink) for r in net.private_routes)
        return IPSettings("manual", tuple(addresses), gateway, routes, self._resolvers(4))

    def static_ipv6(self):
        net = self.network
        if net.ipv6 is None:
            if self._resolvers(6):
                log.info("no IPv6 address: IPv6 nameservers left out of the keyfiles")
            return DISABLED
        gateway, routes = _default_route(net.ipv6, "::/0")
        return IPSettings("manual", (net.ipv6.cidr,), gateway, routes, self._resolvers(6))

    def static(self):
        """``(ipv4, ipv6)`` for the device that carries the static addresses."""
        return self.static_ipv4(), self.static_ipv6()


    def build_tasks(self):
        net = self.network
        addressed = {model.ADDRESSES: self.static, model.DHCP: lambda: (AUTO, AUTO)}
        for device in net.devices:
            ipv4, ipv6 = addressed.get(device.role, lambda: (DISABLED, DISABLED))()
            if device.iface is None:
                bond = device.bond
                self.add(Connection(
                    id=bond.name, type="bond", interface_name=bond.name, cloned_mac=bond.mac,
                    bond_options=list(bond.options), ipv4=ipv4, ipv6=ipv6),
                    "bond.nmconnection.j2")
            elif device.role == model.PORT:
                self.add(Connection(id=device.name, type="ethernet", mac=device.mac,
                                    master=device.master), "port.nmconnection.j2")
            else:
                self.add(Connection(id=device.name, type="ethernet", mac=device.mac,
                                    ipv4=ipv4, ipv6=ipv6,
                                    autoconnect=device.role != model.ALONE),
                         "ethernet.nmconnection.j2")


#: What ``renderers.shared_renderer()`` returns for "networkmanager".
BUILDERS = [KeyfileBuilder]
