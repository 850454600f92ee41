"""What goes into an ``/etc/network/interfaces`` file, decided once for every ifupdown.

Debian's ifupdown (with ifenslave), ifupdown-ng (Alpine) and busybox ifupdown
read the same stanza format but differ in keywords; each family has its own
template, and both print the ordered list of stanzas built here from the model's
devices (``NetworkModel.devices``: which device carries the addresses, which asks
for DHCP, which bond a NIC joins are decided there); only the stanza order and
the ifupdown spelling of each role are decided here.

A NIC the model leaves alone (a hybrid server's NIC in no bond) gets no stanza:
ifupdown brings up only the interfaces its files name, so nothing configures it
(an installer's stanza for it is moved aside, see foreign.py).
"""
from dataclasses import dataclass
from typing import Optional

from packetnetworking import model
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
    """The stanzas of ``net`` in the order they are written.

    Per bond (primary first), its members (metadata order) then the bond, or the bond
    then its members when ``bond_first``; then the NICs in no bond, in metadata order,
    except those left alone.
    """
    stanzas = []
    ra_off = not net.dhcp
    nics = net.nic_devices
    for device in net.bond_devices:
        bond = device.bond
        members = [EniDevice(name=nic.name, method=MANUAL, master=bond.name,
                             delay=bond.member_delay(nic.iface), ra_off=ra_off)
                   for nic in nics if nic.master == bond.name]
        stanza = EniDevice(name=bond.name, method=_method(net, device),
                           primary=device.role == model.ADDRESSES, bond=bond,
                           hwaddress=bond.mac, ra_off=ra_off)
        stanzas.extend([stanza] + members if bond_first else members + [stanza])
    for nic in nics:
        if nic.role in (model.PORT, model.ALONE):
            continue
        stanzas.append(EniDevice(name=nic.name, method=_method(net, nic),
                                 primary=nic.role == model.ADDRESSES, ra_off=ra_off))
    return stanzas


def _method(net, device):
    """The ``inet`` method of a device that is not a bond port. An IPv6-only server's
    device carries the addresses with ``inet manual`` and an ``inet6 static`` stanza."""
    if device.role == model.ADDRESSES:
        return STATIC if net.ipv4 else MANUAL
    return DHCP if device.role == model.DHCP else MANUAL
