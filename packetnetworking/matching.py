"""From the metadata and the discovered NICs to the network model: match by MAC.

The model (model.py) holds the facts every renderer reads; this module builds it:
each metadata interface is matched to the physical NIC with its MAC, unmatched
ones are left out with a WARNING, and a model with nothing to configure is refused.
"""
import logging

from packetnetworking.errors import MetadataError, NICError
from packetnetworking.metadata import FIX_DOCUMENT
from packetnetworking.model import Interface, NetworkModel

log = logging.getLogger(__name__)


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
    addresses = [a for a in metadata.addresses if a.enabled and a.management]
    model = NetworkModel(
        hostname=metadata.hostname, plan=metadata.plan, os=os_info,
        link_aggregation=metadata.link_aggregation, bonding_mode=metadata.bonding_mode,
        bond_mac=metadata.bond_mac, interfaces=interfaces, addresses=addresses,
        private_subnets=list(metadata.private_subnets), resolvers=list(resolvers),
        nics=list(nics))
    clash = sorted({b.name for b in model.bonds} & set(names))  # one file/key would hold both
    if clash:
        raise NICError(f"the NIC named {clash[0]} has the name of a bond of the metadata",
                       "check the NIC list")
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
