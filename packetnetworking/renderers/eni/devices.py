"""What goes into an ``/etc/network/interfaces`` file, decided once for every ifupdown.

Debian's ifupdown (with ifenslave), ifupdown-ng (Alpine) and busybox ifupdown
read the same stanza format but differ in keywords; each family has its own
template, and both print the ordered list of devices built here, so the
decisions (which device carries the addresses, which one asks for DHCP, which
bond a NIC joins, the stanza order) are made once and tested once.
"""
from dataclasses import dataclass
from typing import Optional

from packetnetworking.model import Bond

STATIC, DHCP, MANUAL = "static", "dhcp", "manual"


@dataclass(frozen=True)
class EniDevice:
    """One ``auto NAME`` + ``iface NAME inet METHOD`` stanza (and its inet6/alias friends).

    - ``method``: the ``inet`` method: ``static`` (carries ``net.ipv4``), ``dhcp`` or
      ``manual`` (link up, no address: bond members, secondary bonds, spare NICs, and
      the primary device of an IPv6-only server);
    - ``primary``: the device carries the static addresses (IPv6 stanza, private
      address, private routes, nameservers);
    - ``bond``: the device is this bond (its options and members are printed);
    - ``master``: the device is a member of the bond of that name;
    - ``hwaddress``: the MAC pinned on the device (bonds only);
    - ``delay``: seconds the device waits before it comes up (``pre-up sleep``): every
      member of a bond after its first, as the original tool did (``Bond.member_delay``);
    - ``ra_off``: IPv6 router advertisements are turned off on the device (static
      layouts: every device they configure, as the netplan, networkd and NetworkManager
      outputs do; ifupdown leaves them on wherever no ``inet6 static`` stanza says
      ``accept_ra 0``, and the device then gains a default route from any router).
    """

    name: str
    method: str
    primary: bool = False
    bond: Optional[Bond] = None
    master: Optional[str] = None
    hwaddress: Optional[str] = None
    delay: int = 0
    ra_off: bool = False


def eni_devices(net, bond_first=False):
    """The devices of ``net`` in the order they are written.

    Bonded layouts: per bond (bond0 first), its members (metadata order) then the
    bond, or the bond then its members when ``bond_first``. Individual layouts: the
    matched NICs in metadata order, the first one carrying the addresses. DHCP: a bond
    asks for DHCP when one of its members does; a NIC when it does itself.
    """
    devices = []
    ra_off = not net.dhcp
    if net.bonds:
        for bond in net.bonds:
            members = [EniDevice(name=m.name, method=MANUAL, master=bond.name,
                                 delay=bond.member_delay(m), ra_off=ra_off)
                       for m in bond.members]
            method, primary = _method(net, bond.name, any(m.dhcp for m in bond.members))
            device = EniDevice(name=bond.name, method=method, primary=primary, bond=bond,
                               hwaddress=bond.mac, ra_off=ra_off)
            devices.extend([device] + members if bond_first else members + [device])
        return devices
    for iface in net.interfaces:
        method, primary = _method(net, iface.name, iface.dhcp)
        devices.append(EniDevice(name=iface.name, method=method, primary=primary, ra_off=ra_off))
    return devices


def _method(net, name, wants_dhcp):
    """``(inet method, carries the static addresses)`` of a top-level device."""
    if net.dhcp:
        return (DHCP if wants_dhcp else MANUAL), False
    if name != net.device:
        return MANUAL, False
    return (STATIC if net.ipv4 else MANUAL), True
