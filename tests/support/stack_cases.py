"""Layouts the netplan and networkd stack tests render, and what each must configure.

Used by ``test_netplan.py`` and ``test_networkd.py``. Every case is a metadata
document plus the NIC names the machine reports; ``Expected`` is written out
from the metadata by hand (not from the model), so a model or builder bug
shows up as a difference.
"""
import contextlib
import copy
import io
import logging
import os
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pytest

from packetnetworking import cli
from packetnetworking import metadata as md
from packetnetworking.run import Builder
from packetnetworking.nics import NIC

MACS = ["0c:c4:7a:aa:00:10", "0c:c4:7a:aa:00:11", "0c:c4:7a:aa:00:12", "0c:c4:7a:aa:00:13"]
NAMES = ["enp1s0f0", "enp1s0f1", "enp2s0f0", "enp2s0f1"]
RESOLVERS = ["147.75.207.207", "2001:4860:4860::8888"]

PUBLIC4 = {"address_family": 4, "public": True, "management": True, "enabled": True,
           "address": "198.51.100.23", "netmask": "255.255.255.254", "cidr": 31,
           "network": "198.51.100.22", "gateway": "198.51.100.22"}
PUBLIC6 = {"address_family": 6, "public": True, "management": True, "enabled": True,
           "address": "2001:db8:10:2a00::3", "cidr": 127, "network": "2001:db8:10:2a00::2",
           "gateway": "2001:db8:10:2a00::2"}
PRIVATE4 = {"address_family": 4, "public": False, "management": True, "enabled": True,
            "address": "10.66.4.5", "netmask": "255.255.255.254", "cidr": 31,
            "network": "10.66.4.4", "gateway": "10.66.4.4"}
ELASTIC = {"address_family": 4, "public": True, "management": False, "enabled": True,
           "address": "203.0.113.9", "cidr": 32, "gateway": "203.0.113.9"}


def document(mode=4, link="bonded", bonds=("bond0", "bond0"), addresses=None,
             dhcp=(), private_subnets=None, macs=MACS, **fields):
    """A metadata dict: one interface per entry of ``bonds`` (None: no ``bond`` key),
    the i-th with ``macs[i]``; ``fields`` replace or add top-level keys (a family's
    tests use their own server: hostname, id, plan...)."""
    interfaces = []
    for i, bond in enumerate(bonds):
        iface = {"name": f"eth{i}", "mac": macs[i]}
        if bond:
            iface["bond"] = bond
        if i in dhcp:
            iface["dhcp"] = True
        interfaces.append(iface)
    doc = {
        "id": "0f6e7c3a-7c1d-4a8e-9d3b-5e2a1c4b6d70", "hostname": "node-01.example.net",
        "plan": "c3.small.x86",
        "network": {"bonding": {"mode": mode, "link_aggregation": link, "mac": macs[0]},
                    "interfaces": interfaces,
                    "addresses": copy.deepcopy(addresses if addresses is not None
                                               else [PUBLIC4, PUBLIC6, PRIVATE4, ELASTIC])},
    }
    if private_subnets is not None:
        doc["private_subnets"] = private_subnets
    doc.update(fields)
    return doc


@dataclass
class BondExpect:
    name: str
    members: List[str]
    mac: str
    mode: str
    hash_policy: Optional[str]
    lacp_rate: Optional[str]


@dataclass
class Expected:
    """What the files must configure, in the OS's names."""

    device: Optional[str]                     # carries the addresses (None: DHCP only)
    addresses: List[str] = field(default_factory=list)
    gateway4: Optional[str] = None
    gateway6: Optional[str] = None
    private_routes: List[Tuple[str, str]] = field(default_factory=list)
    dns: List[str] = field(default_factory=list)
    bonds: List[BondExpect] = field(default_factory=list)
    dhcp: List[str] = field(default_factory=list)      # devices asking DHCP
    bare: List[str] = field(default_factory=list)      # up without addresses
    nics: Dict[str, str] = field(default_factory=dict)  # name -> MAC, every matched NIC


def _nics(count):
    return {NAMES[i]: MACS[i] for i in range(count)}


def _lacp(name, members, mac=MACS[0]):
    return BondExpect(name, members, mac, "802.3ad", "layer3+4", "fast")


STATIC = dict(addresses=["198.51.100.23/31", "2001:db8:10:2a00::3/127", "10.66.4.5/31"],
              gateway4="198.51.100.22", gateway6="2001:db8:10:2a00::2",
              private_routes=[("10.0.0.0/8", "10.66.4.4")], dns=RESOLVERS)

MODE_NAMES = {0: "balance-rr", 1: "active-backup", 2: "balance-xor", 3: "broadcast",
              4: "802.3ad", 5: "balance-tlb", 6: "balance-alb"}


def _mode_case(mode):
    bond = BondExpect("bond0", NAMES[:2], MACS[0], MODE_NAMES[mode],
                      "layer3+4" if mode in (2, 4) else None, "fast" if mode == 4 else None)
    return (document(mode=mode), 2, Expected(device="bond0", bonds=[bond], nics=_nics(2),
                                             **STATIC))


#: name -> (metadata dict, number of NICs the machine reports, Expected)
CASES = {
    "bonded-lacp": (document(), 2, Expected(device="bond0", bonds=[_lacp("bond0", NAMES[:2])],
                                            nics=_nics(2), **STATIC)),
    "mlag_ha": (document(link="mlag_ha"), 2,
                Expected(device="bond0", bonds=[_lacp("bond0", NAMES[:2])], nics=_nics(2),
                         **STATIC)),
    **{f"bonded-mode{m}": _mode_case(m) for m in (0, 1, 2, 3, 5, 6)},
    "two-bonds-interleaved": (
        document(bonds=("bond0", "bond1", "bond0", "bond1")), 4,
        Expected(device="bond0", nics=_nics(4), bare=["bond1"],
                 bonds=[_lacp("bond0", [NAMES[0], NAMES[2]]),
                        _lacp("bond1", [NAMES[1], NAMES[3]], MACS[1])], **STATIC)),
    "individual": (
        document(link="individual", bonds=(None, None)), 2,
        Expected(device=NAMES[0], nics=_nics(2), bare=[NAMES[1]], **STATIC)),
    "private-only": (
        document(addresses=[PRIVATE4]), 2,
        Expected(device="bond0", bonds=[_lacp("bond0", NAMES[:2])], nics=_nics(2),
                 addresses=["10.66.4.5/31"], gateway4="10.66.4.4",
                 private_routes=[("10.0.0.0/8", "10.66.4.4")], dns=RESOLVERS)),
    "no-ipv6-two-private-subnets": (
        document(addresses=[PUBLIC4, PRIVATE4],
                 private_subnets=["10.0.0.0/8", "172.16.0.0/12"]), 2,
        Expected(device="bond0", bonds=[_lacp("bond0", NAMES[:2])], nics=_nics(2),
                 addresses=["198.51.100.23/31", "10.66.4.5/31"], gateway4="198.51.100.22",
                 private_routes=[("10.0.0.0/8", "10.66.4.4"), ("172.16.0.0/12", "10.66.4.4")],
                 dns=RESOLVERS)),
    "ipv6-only": (
        document(addresses=[PUBLIC6]), 2,
        Expected(device="bond0", bonds=[_lacp("bond0", NAMES[:2])], nics=_nics(2),
                 addresses=["2001:db8:10:2a00::3/127"], gateway6="2001:db8:10:2a00::2",
                 dns=RESOLVERS)),
    "dhcp-individual": (
        document(link="individual", bonds=(None, None, None), dhcp=(0, 2), addresses=[]), 3,
        Expected(device=None, nics=_nics(3), dhcp=[NAMES[0], NAMES[2]], bare=[NAMES[1]])),
    "dhcp-bonded": (
        document(dhcp=(0, 1), addresses=[]), 2,
        Expected(device=None, nics=_nics(2), dhcp=["bond0"], bonds=[_lacp("bond0", NAMES[:2])])),
}


def build_model(doc, nic_count, os_option="ubuntu 24.04", resolvers=RESOLVERS):
    nics = [NIC(name=NAMES[i], mac=MACS[i], driver="i40e") for i in range(nic_count)]
    return Builder(md.parse(doc), nics, os_option, resolvers).initialize()


def render_stack(builder_classes, doc, nic_count, **kwargs):
    """``{path: FileOp}`` of the given NetworkBuilders alone (no family, no target)."""
    builder = build_model(doc, nic_count, **kwargs)
    tasks = {}
    for cls in builder_classes:
        network_builder = cls(builder.network)
        for path, task in network_builder.build().items():
            tasks[path] = (task, network_builder)
    return builder.render(tasks)


def parse_unit(text):
    """A systemd unit-style file as ``[(section, [(key, value), ...]), ...]``.

    Sections may repeat (``[Route]``) and keys may repeat (``Address=``), which
    configparser cannot represent.
    """
    sections = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1], []))
            continue
        key, sep, value = line.partition("=")
        assert sep and sections, f"not a key=value line inside a section: {line!r}"
        sections[-1][1].append((key.strip(), value.strip()))
    return sections


def values(sections, section, key):
    """Every value of ``key`` in every ``[section]``, in file order."""
    return [v for name, items in sections if name == section for k, v in items if k == key]


def routes(sections):
    """``[(Destination, Gateway)]`` of the ``[Route]`` sections."""
    found = []
    for name, items in sections:
        if name == "Route":
            d = dict(items)
            found.append((d.get("Destination"), d.get("Gateway")))
    return found


def family_present(distro):
    """Whether this tree has a family for ``distro`` (a family is a plugin: it may be absent)."""
    from packetnetworking import distros
    from packetnetworking.errors import UnsupportedOS

    try:
        distros.find(distro)
    except UnsupportedOS:
        return False
    return True


def check_nic_units(link, network, name, mac):
    """A NIC's .link pins its name by permanent MAC; its .network matches it the same way."""
    assert values(link, "Match", "PermanentMACAddress") == [mac]
    assert values(link, "Link", "Name") == [name]
    assert values(network, "Match", "PermanentMACAddress") == [mac]
    assert values(network, "Match", "Name") == [name]


def check_bond_netdev(netdev, bond):
    """A bond's .netdev: its kind, MAC, mode and the options the metadata's mode asks for."""
    assert values(netdev, "NetDev", "Kind") == ["bond"]
    assert values(netdev, "NetDev", "MACAddress") == [bond.mac]
    assert values(netdev, "Bond", "Mode") == [bond.mode]
    assert values(netdev, "Bond", "MIIMonitorSec") == ["100ms"]
    assert values(netdev, "Bond", "UpDelaySec") == ["200ms"]
    assert values(netdev, "Bond", "DownDelaySec") == ["200ms"]
    assert values(netdev, "Bond", "TransmitHashPolicy") == (
        [bond.hash_policy] if bond.hash_policy else [])
    assert values(netdev, "Bond", "LACPTransmitRate") == (
        [bond.lacp_rate] if bond.lacp_rate else [])


def require_tool(name, package="netplan.io"):
    """The tool's path; skip (or fail with PN_REQUIRE_VALIDATORS=1) when it is missing."""
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path is None:
        message = f"{name} not installed (Debian package: {package})"
        if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
            pytest.fail(message + "; PN_REQUIRE_VALIDATORS=1 requires it")
        pytest.skip(message)
    return path


def run_cli(args):
    """``cli.main(args)`` in-process: ``(exit code, stderr text)``; the root logger's
    handlers and level are put back afterwards."""
    err = io.StringIO()
    root_logger = logging.getLogger()
    handlers, level = list(root_logger.handlers), root_logger.level
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            with pytest.raises(SystemExit) as exit_info:
                cli.main([str(a) for a in args])
    finally:
        root_logger.handlers[:] = handlers
        root_logger.setLevel(level)
    return exit_info.value.code, err.getvalue()
