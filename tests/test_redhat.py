"""RedHat family (ifcfg-rh): every version x layout, read as an operator reads the files.

Files are parsed as ``KEY=value`` (quotes stripped) and the assertions name what an
operator checks after a provisioning run: the address and prefix on the right device,
gateways and default routes (v4 and v6), the private route, bond names, members and
options, MAC pinning, file modes and the files removed. ``bash`` (which sources these
files at boot under network-scripts) cross-checks the parser.
"""
import ipaddress
import json
import logging
import os
from pathlib import Path

import pytest

from support.helpers import CAPTURES, document_names, expected_addresses
from support.scenarios import document_through_cli
from support.stack_cases import document
from support.trees import Tree
from packetnetworking import metadata as md
from packetnetworking import nics as nicmod
from packetnetworking.run import Builder
from packetnetworking.distros.redhat.builder import NM_LINKS
from packetnetworking.tasks import ASIDE_SUFFIX

SCRIPTS = "etc/sysconfig/network-scripts"
RESOLVERS = ["147.75.207.207", "147.75.207.208"]

# --- the fixture server ---------------------------------------------------------------

NICS = [  # OS name, MAC; metadata eth0..eth3 in this order
    ("eno1", "0c:c4:7a:5e:00:10"),
    ("eno2", "0c:c4:7a:5e:00:11"),
    ("ens1f0", "0c:c4:7a:5e:00:12"),
    ("ens1f1", "0c:c4:7a:5e:00:13"),
]
PUB4 = {"address_family": 4, "public": True, "management": True, "enabled": True,
        "address": "203.0.113.9", "netmask": "255.255.255.254", "cidr": 31,
        "network": "203.0.113.8", "gateway": "203.0.113.8"}
PUB6 = {"address_family": 6, "public": True, "management": True, "enabled": True,
        "address": "2001:db8:77:1200::1", "cidr": 127,
        "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
        "network": "2001:db8:77:1200::", "gateway": "2001:db8:77:1200::"}
PRIV4 = {"address_family": 4, "public": False, "management": True, "enabled": True,
         "address": "10.33.7.10", "netmask": "255.255.255.248", "cidr": 29,
         "network": "10.33.7.8", "gateway": "10.33.7.9"}
ALL_ADDRESSES = (PUB4, PUB6, PRIV4)


def server(link="bonded", mode=4, bonds=("bond0", "bond0"), addresses=ALL_ADDRESSES,
           dhcp=(), subnets=None):
    """A metadata document: one interface per entry of ``bonds`` (eth0, eth1, ...)."""
    return document(mode, link, bonds, list(addresses), dhcp, subnets,
                    macs=[mac for _, mac in NICS], id="c0ffee00-0000-4000-8000-000000000001",
                    hostname="web-7.example.net", plan="m3.large.x86",
                    iqn="iqn.2024-01.net.example:web-7")


def nic_list(count=4):
    return [{"name": name, "mac": mac, "driver": "i40e"} for name, mac in NICS[:count]]


def render(doc, os_name, root, nics=None, renderer="auto", write=False):
    """Run the pipeline for a target ``root`` (what it holds steers the stack and the
    NetworkManager policy); ``write`` also runs the writer into it. Returns a Tree."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    found = nicmod.parse_json(nics if nics is not None else nic_list(len(
        doc["network"]["interfaces"])))
    builder = Builder(md.parse(doc), found, os_name, RESOLVERS, {"renderer": renderer})
    builder.initialize()
    if write:
        builder.run(str(root))
        return Tree.from_disk(root)
    return Tree.from_rendered(builder.render(builder.build_tasks(str(root))))


def plant_networkmanager_links(root):
    """What an image with NetworkManager enabled holds: three symlinks (dangling here)."""
    for rel in NM_LINKS:
        link = Path(root) / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/usr/lib/systemd/system/NetworkManager.service", link)


#: The versions the issue names, plus the distro aliases and CentOS Stream 9. Fedora
#: runs NetworkManager keyfiles (``--renderer auto`` picks them): see its own tests.
VERSIONS = ["centos 7", "centos 8", "rhel 7", "rhel 8", "rhel 9", "scientific 7", "rocky 8",
            "rocky 9", "alma 8", "alma 9", "almalinux 9", "redhatenterprise 8",
            "redhatenterpriseserver 7", "centos 9"]
#: (NetworkManager disabled on an image that runs it?, udev rules, .link files)
EXPECTED_PINNING = {
    "centos 7": (True, False, False), "scientific 7": (True, False, False),
    "centos 8": (True, False, False), "rocky 8": (True, False, False),
    "alma 8": (True, False, False),
    "rhel 7": (False, True, False), "redhatenterpriseserver 7": (False, True, False),
    "rhel 8": (False, True, False), "redhatenterprise 8": (False, True, False),
    "rhel 9": (False, True, True), "rocky 9": (False, True, True),
    "alma 9": (False, True, True), "almalinux 9": (False, True, True),
    "centos 9": (False, True, True), "fedora 40": (False, True, True),
}


# --- bonded ---------------------------------------------------------------------------

@pytest.mark.parametrize("os_name", VERSIONS)
def test_bonded_server(tmp_path, os_name):
    tree = render(server(), os_name, tmp_path)
    bond = tree.kv(f"{SCRIPTS}/ifcfg-bond0")
    assert bond["DEVICE"] == "bond0" and bond["TYPE"] == "Bond"
    assert bond["BONDING_MASTER"] == "yes" and bond["ONBOOT"] == "yes"
    assert bond["BONDING_OPTS"] == ("mode=802.3ad miimon=100 updelay=200 downdelay=200 "
                                    "xmit_hash_policy=layer3+4 lacp_rate=fast")
    # the bond carries the first NIC's MAC as a set address (MACADDR), never as a match
    assert bond["MACADDR"] == NICS[0][1] and "HWADDR" not in bond
    assert (bond["BOOTPROTO"], bond["IPADDR"], bond["PREFIX"]) == ("none", "203.0.113.9", "31")
    assert bond["NETMASK"] == "255.255.255.254"
    assert bond["GATEWAY"] == "203.0.113.8" and bond["DEFROUTE"] == "yes"
    assert bond["IPV6INIT"] == "yes" and bond["IPV6_AUTOCONF"] == "no"
    assert bond["IPV6ADDR"] == "2001:db8:77:1200::1/127"
    assert bond["IPV6_DEFAULTGW"] == "2001:db8:77:1200::"
    assert (bond["DNS1"], bond["DNS2"]) == tuple(RESOLVERS)

    for name, mac in NICS[:2]:
        slave = tree.kv(f"{SCRIPTS}/ifcfg-{name}")
        assert slave["DEVICE"] == name and slave["HWADDR"] == mac
        assert (slave["MASTER"], slave["SLAVE"], slave["ONBOOT"]) == ("bond0", "yes", "yes")
        assert slave["BOOTPROTO"] == "none" and "IPADDR" not in slave

    alias = tree.kv(f"{SCRIPTS}/ifcfg-bond0:0")
    assert alias["DEVICE"] == "bond0:0" and alias["ONPARENT"] == "yes"
    assert (alias["IPADDR"], alias["PREFIX"], alias["NETMASK"]) == (
        "10.33.7.10", "29", "255.255.255.248")
    assert "ONBOOT" not in alias and "GATEWAY" not in alias
    assert tree.text(f"{SCRIPTS}/route-bond0").splitlines()[1:] == [
        "10.0.0.0/8 via 10.33.7.9 dev bond0"]

    network = tree.kv("etc/sysconfig/network")
    assert network["NETWORKING"] == "yes" and network["HOSTNAME"] == "web-7.example.net"
    assert (network["GATEWAY"], network["GATEWAYDEV"]) == ("203.0.113.8", "bond0")
    assert (network["IPV6_DEFAULTGW"], network["IPV6_DEFAULTDEV"]) == (
        "2001:db8:77:1200::", "bond0")

    assert tree.text("etc/modprobe.d/bonding.conf").splitlines()[1:] == ["alias bond0 bonding"]
    assert tree.mode("sbin/ifup-pre-local") == 0o755
    script = tree.text("sbin/ifup-pre-local")
    assert script.startswith("#!/bin/sh\n")
    assert f"bond0) ip link set dev bond0 address {NICS[0][1]} ;;" in script
    assert f"eno1) ip link set dev eno1 address {NICS[0][1]} ;;" in script
    # production's staggered bring-up: the second slave waits, the first wins LACP
    assert f"eno2) ip link set dev eno2 address {NICS[1][1]} && sleep 4 ;;" in script
    assert script.count("sleep") == 1
    assert tree.text("etc/resolv.conf").splitlines()[1:] == [
        f"nameserver {r}" for r in RESOLVERS]
    assert "203.0.113.9\tweb-7.example.net web-7" in tree.text("etc/hosts").splitlines()
    assert tree.text("etc/hostname") == "web-7.example.net\n"
    for rel in tree.files():
        assert tree.mode(rel) == (0o755 if rel == "sbin/ifup-pre-local" else 0o644), rel


@pytest.mark.parametrize("os_name", ["centos 7", "rhel 8", "rocky 9"])
def test_mlag_ha_renders_exactly_like_bonded(tmp_path, os_name):
    bonded = render(server("bonded"), os_name, tmp_path / "a")
    mlag = render(server("mlag_ha"), os_name, tmp_path / "b")
    assert mlag.files() == bonded.files()
    assert all(mlag.text(f) == bonded.text(f) for f in bonded.files())
    null = server()
    null["network"]["bonding"]["link_aggregation"] = None
    nulled = render(null, os_name, tmp_path / "c")
    assert all(nulled.text(f) == bonded.text(f) for f in bonded.files())


@pytest.mark.parametrize("os_name", VERSIONS)
def test_two_bonds_with_interleaved_members(tmp_path, os_name):
    doc = server(bonds=("bond0", "bond1", "bond0", "bond1"))
    tree = render(doc, os_name, tmp_path)
    bond0, bond1 = tree.kv(f"{SCRIPTS}/ifcfg-bond0"), tree.kv(f"{SCRIPTS}/ifcfg-bond1")
    assert bond0["IPADDR"] == "203.0.113.9" and bond0["MACADDR"] == NICS[0][1]
    # bond1 comes up without any address, with its own first member's MAC
    assert bond1["DEVICE"] == "bond1" and bond1["ONBOOT"] == "yes"
    assert bond1["BOOTPROTO"] == "none" and bond1["IPV6INIT"] == "no"
    assert bond1["IPV6_DISABLED"] == "yes", "else NetworkManager leaves the kernel's RA on"
    assert not {"IPADDR", "GATEWAY", "IPV6ADDR", "IPV6_DEFAULTGW", "DNS1"} & set(bond1)
    assert bond1["MACADDR"] == NICS[1][1]
    assert bond1["BONDING_OPTS"] == bond0["BONDING_OPTS"]
    masters = {name: tree.kv(f"{SCRIPTS}/ifcfg-{name}")["MASTER"] for name, _ in NICS}
    assert masters == {"eno1": "bond0", "ens1f0": "bond0", "eno2": "bond1", "ens1f1": "bond1"}
    assert tree.text("etc/modprobe.d/bonding.conf").splitlines()[1:] == [
        "alias bond0 bonding", "alias bond1 bonding"]
    script = tree.text("sbin/ifup-pre-local")
    assert "bond1) ip link set dev bond1 address 0c:c4:7a:5e:00:11 ;;" in script
    # each bond's first slave comes up at once, its second waits
    assert [line.split(")")[0] for line in script.splitlines() if "sleep 4" in line] == [
        "ens1f0", "ens1f1"]
    assert not tree.exists(f"{SCRIPTS}/ifcfg-bond1:0")
    assert not tree.exists(f"{SCRIPTS}/route-bond1")
    assert tree.kv("etc/sysconfig/network")["GATEWAYDEV"] == "bond0"


@pytest.mark.parametrize("os_name", VERSIONS)
def test_private_only_server(tmp_path, os_name):
    tree = render(server(addresses=(PRIV4,)), os_name, tmp_path)
    bond = tree.kv(f"{SCRIPTS}/ifcfg-bond0")
    assert (bond["IPADDR"], bond["PREFIX"], bond["GATEWAY"]) == ("10.33.7.10", "29", "10.33.7.9")
    assert bond["DEFROUTE"] == "yes" and bond["IPV6INIT"] == "no"
    assert bond["IPV6_DISABLED"] == "yes", "else NetworkManager leaves the kernel's RA on"
    assert "IPV6ADDR" not in bond and "IPADDR1" not in bond
    assert not tree.exists(f"{SCRIPTS}/ifcfg-bond0:0")
    assert tree.text(f"{SCRIPTS}/route-bond0").splitlines()[1:] == [
        "10.0.0.0/8 via 10.33.7.9 dev bond0"]
    network = tree.kv("etc/sysconfig/network")
    assert network["GATEWAY"] == "10.33.7.9"
    assert not {"IPV6_DEFAULTGW", "NETWORKING_IPV6", "IPV6_DEFAULTDEV"} & set(network)
    assert "10.33.7.10\tweb-7.example.net web-7" in tree.text("etc/hosts").splitlines()


@pytest.mark.parametrize("os_name", VERSIONS)
def test_server_without_ipv6(tmp_path, os_name):
    tree = render(server(addresses=(PUB4, PRIV4)), os_name, tmp_path)
    bond = tree.kv(f"{SCRIPTS}/ifcfg-bond0")
    assert bond["IPADDR"] == "203.0.113.9" and bond["IPV6INIT"] == "no"
    assert not {"IPV6ADDR", "IPV6_DEFAULTGW"} & set(bond)
    network = tree.kv("etc/sysconfig/network")
    assert network["GATEWAY"] == "203.0.113.8"
    assert not {"IPV6_DEFAULTGW", "NETWORKING_IPV6", "IPV6_DEFAULTDEV"} & set(network)
    assert tree.kv(f"{SCRIPTS}/ifcfg-bond0:0")["IPADDR"] == "10.33.7.10"


def test_several_private_subnets_each_get_a_route(tmp_path):
    doc = server(subnets=["10.0.0.0/8", "172.16.0.0/12"])
    tree = render(doc, "rocky 8", tmp_path)
    assert tree.text(f"{SCRIPTS}/route-bond0").splitlines()[1:] == [
        "10.0.0.0/8 via 10.33.7.9 dev bond0", "172.16.0.0/12 via 10.33.7.9 dev bond0"]


@pytest.mark.parametrize("mode, name, hashed, lacp", [
    (0, "balance-rr", False, False), (1, "active-backup", False, False),
    (2, "balance-xor", True, False), (3, "broadcast", False, False),
    (4, "802.3ad", True, True), (5, "balance-tlb", False, False),
    (6, "balance-alb", False, False)])
def test_bonding_modes(tmp_path, mode, name, hashed, lacp):
    tree = render(server(mode=mode, bonds=("bond0", "bond1", "bond0", "bond1")), "centos 7",
                  tmp_path)
    for bond in ("bond0", "bond1"):
        opts = dict(o.split("=") for o in tree.kv(f"{SCRIPTS}/ifcfg-{bond}")["BONDING_OPTS"]
                    .split())
        assert opts["mode"] == name
        assert (opts["miimon"], opts["updelay"], opts["downdelay"]) == ("100", "200", "200")
        assert ("xmit_hash_policy" in opts) == hashed
        assert (opts.get("lacp_rate") == "fast") == lacp and ("lacp_rate" in opts) == lacp


# --- individual -----------------------------------------------------------------------

@pytest.mark.parametrize("os_name", VERSIONS)
def test_individual_server(tmp_path, os_name):
    tree = render(server("individual", bonds=(None, None)), os_name, tmp_path)
    nic = tree.kv(f"{SCRIPTS}/ifcfg-eno1")
    assert (nic["DEVICE"], nic["HWADDR"], nic["TYPE"]) == ("eno1", NICS[0][1], "Ethernet")
    assert nic["ONBOOT"] == "yes" and "MASTER" not in nic
    assert (nic["IPADDR"], nic["PREFIX"], nic["GATEWAY"]) == ("203.0.113.9", "31", "203.0.113.8")
    assert nic["IPV6ADDR"] == "2001:db8:77:1200::1/127"
    assert nic["IPV6_DEFAULTGW"] == "2001:db8:77:1200::"
    alias = tree.kv(f"{SCRIPTS}/ifcfg-eno1:0")
    assert (alias["DEVICE"], alias["IPADDR"], alias["PREFIX"]) == ("eno1:0", "10.33.7.10", "29")
    assert tree.text(f"{SCRIPTS}/route-eno1").splitlines()[1:] == [
        "10.0.0.0/8 via 10.33.7.9 dev eno1"]
    network = tree.kv("etc/sysconfig/network")
    assert (network["GATEWAY"], network["GATEWAYDEV"]) == ("203.0.113.8", "eno1")
    assert network["IPV6_DEFAULTDEV"] == "eno1"
    # the second NIC is configured but not started, and carries nothing
    other = tree.kv(f"{SCRIPTS}/ifcfg-eno2")
    assert (other["HWADDR"], other["ONBOOT"], other["BOOTPROTO"]) == (NICS[1][1], "no", "none")
    assert not {"IPADDR", "GATEWAY", "MASTER", "IPV6ADDR"} & set(other)
    for absent in (f"{SCRIPTS}/ifcfg-bond0", "etc/modprobe.d/bonding.conf",
                   "sbin/ifup-pre-local", f"{SCRIPTS}/ifcfg-eno2:0", f"{SCRIPTS}/route-eno2"):
        assert not tree.exists(absent), absent


def test_individual_private_only_and_no_ipv6(tmp_path):
    tree = render(server("individual", bonds=(None,), addresses=(PRIV4,)), "alma 9", tmp_path)
    nic = tree.kv(f"{SCRIPTS}/ifcfg-eno1")
    assert (nic["IPADDR"], nic["GATEWAY"], nic["IPV6INIT"]) == ("10.33.7.10", "10.33.7.9", "no")
    assert not tree.exists(f"{SCRIPTS}/ifcfg-eno1:0")
    assert tree.text(f"{SCRIPTS}/route-eno1").splitlines()[1:] == [
        "10.0.0.0/8 via 10.33.7.9 dev eno1"]


def test_alias_label_too_long_for_the_kernel_goes_inline(tmp_path, caplog):
    """``<name>:0`` longer than 15 characters cannot be an alias label: the private
    address becomes IPADDR1 of the NIC's own file instead of a file ifup would reject."""
    long_name = "enp175s0f0np0x"
    nics = [{"name": long_name, "mac": NICS[0][1]}]
    with caplog.at_level(logging.WARNING):
        tree = render(server("individual", bonds=(None,)), "rocky 8", tmp_path, nics=nics)
    nic = tree.kv(f"{SCRIPTS}/ifcfg-{long_name}")
    assert (nic["IPADDR"], nic["IPADDR1"], nic["PREFIX1"]) == ("203.0.113.9", "10.33.7.10", "29")
    assert not tree.exists(f"{SCRIPTS}/ifcfg-{long_name}:0")
    assert tree.text(f"{SCRIPTS}/route-{long_name}").splitlines()[1:] == [
        f"10.0.0.0/8 via 10.33.7.9 dev {long_name}"]
    assert "IPADDR1" in caplog.text


# --- DHCP -----------------------------------------------------------------------------

@pytest.mark.parametrize("os_name", VERSIONS)
def test_dhcp_bonded(tmp_path, os_name):
    tree = render(server(dhcp=(0, 1)), os_name, tmp_path)
    bond = tree.kv(f"{SCRIPTS}/ifcfg-bond0")
    assert bond["BOOTPROTO"] == "dhcp" and bond["MACADDR"] == NICS[0][1]
    assert bond["BONDING_OPTS"].startswith("mode=802.3ad ")
    assert not {"IPADDR", "PREFIX", "GATEWAY", "IPV6ADDR", "IPV6_DEFAULTGW", "DNS1"} & set(bond)
    for name, _ in NICS[:2]:
        assert tree.kv(f"{SCRIPTS}/ifcfg-{name}")["MASTER"] == "bond0"
    network = tree.kv("etc/sysconfig/network")
    assert not {"GATEWAY", "GATEWAYDEV", "IPV6_DEFAULTGW"} & set(network)
    for absent in ("etc/resolv.conf", f"{SCRIPTS}/ifcfg-bond0:0", f"{SCRIPTS}/route-bond0"):
        assert not tree.exists(absent), absent
    assert "127.0.1.1\tweb-7.example.net web-7" in tree.text("etc/hosts").splitlines()


def test_dhcp_with_two_bonds(tmp_path):
    """bond0 asks for a lease; bond1 comes up without address unless its members ask."""
    tree = render(server(bonds=("bond0", "bond1", "bond0", "bond1"), dhcp=(0,)), "rhel 8",
                  tmp_path)
    assert tree.kv(f"{SCRIPTS}/ifcfg-bond0")["BOOTPROTO"] == "dhcp"
    bond1 = tree.kv(f"{SCRIPTS}/ifcfg-bond1")
    assert (bond1["BOOTPROTO"], bond1["IPV6INIT"]) == ("none", "no")
    tree = render(server(bonds=("bond0", "bond1"), dhcp=(1,)), "rhel 8", tmp_path / "b")
    assert tree.kv(f"{SCRIPTS}/ifcfg-bond1")["BOOTPROTO"] == "dhcp"
    assert tree.kv(f"{SCRIPTS}/ifcfg-bond0")["BOOTPROTO"] == "dhcp"


@pytest.mark.parametrize("os_name", VERSIONS)
def test_dhcp_individual(tmp_path, os_name):
    tree = render(server("individual", bonds=(None, None), dhcp=(0,)), os_name, tmp_path)
    nic = tree.kv(f"{SCRIPTS}/ifcfg-eno1")
    assert (nic["BOOTPROTO"], nic["ONBOOT"], nic["HWADDR"]) == ("dhcp", "yes", NICS[0][1])
    assert not {"IPADDR", "GATEWAY", "IPV6ADDR"} & set(nic)
    assert tree.kv(f"{SCRIPTS}/ifcfg-eno2")["ONBOOT"] == "no"
    for absent in ("etc/resolv.conf", f"{SCRIPTS}/ifcfg-eno1:0", f"{SCRIPTS}/route-eno1",
                   "etc/modprobe.d/bonding.conf", f"{SCRIPTS}/ifcfg-bond0"):
        assert not tree.exists(absent), absent


def test_dhcp_on_a_second_individual_nic(tmp_path):
    tree = render(server("individual", bonds=(None, None), dhcp=(1,)), "centos 7", tmp_path)
    assert tree.kv(f"{SCRIPTS}/ifcfg-eno1")["BOOTPROTO"] == "dhcp"
    eno2 = tree.kv(f"{SCRIPTS}/ifcfg-eno2")
    assert (eno2["BOOTPROTO"], eno2["ONBOOT"]) == ("dhcp", "yes")


# --- NetworkManager and name pinning per release --------------------------------------

@pytest.mark.parametrize("os_name", VERSIONS + ["fedora 40"])
def test_networkmanager_and_name_pinning_per_release(tmp_path, os_name):
    disabled, udev, link_files = EXPECTED_PINNING[os_name]
    root = tmp_path / "root"
    plant_networkmanager_links(root)
    (root / "etc/rc.d/init.d").mkdir(parents=True)
    (root / "etc/rc.d/init.d/network").write_text("#!/bin/sh\n")  # legacy network service
    tree = render(server(), os_name, root, write=True)
    for link in NM_LINKS:
        assert tree.exists(link) != disabled, link
        # moved aside, not deleted: renaming it back re-enables NetworkManager
        assert tree.exists(link + ASIDE_SUFFIX) == disabled, link
    rules = "etc/udev/rules.d/70-persistent-net.rules"
    assert tree.exists(rules) == udev
    if udev:
        lines = [ln for ln in tree.text(rules).splitlines() if not ln.startswith("#")]
        assert lines == [
            f'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{{address}}=="{mac}", '
            f'ATTR{{type}}=="1", NAME="{name}"' for name, mac in NICS[:2]]
    for name, mac in NICS[:2]:
        rel = f"etc/systemd/network/70-{name}.link"
        assert tree.exists(rel) == link_files
        if link_files:
            link = parse_ini(tree.text(rel))
            assert link == {"Match": {"PermanentMACAddress": mac, "MACAddress": mac},
                            "Link": {"Name": name}}
            assert os.path.basename(rel) < "99-default.link"


@pytest.mark.parametrize("os_name", ["centos 8", "rocky 8", "alma 8"])
def test_el8_keeps_networkmanager_when_the_image_has_no_network_scripts(tmp_path, os_name):
    """A stock EL8 image (NetworkManager, no network-scripts package): removing
    NetworkManager would leave nothing to read the files."""
    root = tmp_path / "root"
    plant_networkmanager_links(root)
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/NetworkManager").write_text("")
    tree = render(server(), os_name, root, write=True)
    assert all(tree.exists(link) for link in NM_LINKS)
    assert tree.exists("etc/udev/rules.d/70-persistent-net.rules")
    assert tree.kv(f"{SCRIPTS}/ifcfg-bond0")["IPADDR"] == "203.0.113.9"


@pytest.mark.parametrize("os_name", ["centos 8", "rocky 8"])
def test_el8_disables_networkmanager_when_network_scripts_are_installed(tmp_path, os_name):
    root = tmp_path / "root"
    plant_networkmanager_links(root)
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/NetworkManager").write_text("")
    (root / SCRIPTS).mkdir(parents=True)
    (root / SCRIPTS / "ifup-eth").write_text("#!/bin/bash\n")
    tree = render(server(), os_name, root, write=True)
    assert not any(tree.exists(link) for link in NM_LINKS)
    assert all(tree.exists(link + ASIDE_SUFFIX) for link in NM_LINKS)
    assert not tree.exists("etc/udev/rules.d/70-persistent-net.rules")


def test_keyfile_renderer_never_removes_networkmanager(tmp_path):
    root = tmp_path / "root"
    plant_networkmanager_links(root)
    tree = render(server(), "centos 7", root, renderer="networkmanager", write=True)
    assert all(tree.exists(link) for link in NM_LINKS)
    assert not tree.exists(f"{SCRIPTS}/ifcfg-bond0")
    assert tree.exists("etc/udev/rules.d/70-persistent-net.rules")


def test_networkd_renderer_pins_names_itself_and_keeps_networkmanager(tmp_path):
    tree = render(server(), "rocky 9", tmp_path, renderer="networkd")
    assert not tree.deleted and not tree.exists(f"{SCRIPTS}/ifcfg-bond0")
    links = [f for f in tree.files() if f.endswith(".link")]
    assert links and not [f for f in links if os.path.basename(f).startswith("70-")]


def test_fedora_runs_keyfiles_but_ifcfg_can_be_forced(tmp_path):
    """Fedora's NetworkManager reads keyfiles: auto writes those (NetworkManager kept,
    names pinned); ``--renderer ifcfg`` still writes the ifcfg set for images that
    carry the ifcfg-rh plugin."""
    root = tmp_path / "root"
    plant_networkmanager_links(root)
    auto = render(server(), "fedora 40", root)
    assert not auto.deleted and not auto.exists(f"{SCRIPTS}/ifcfg-bond0")
    assert auto.exists("etc/udev/rules.d/70-persistent-net.rules")
    assert auto.exists("etc/systemd/network/70-eno1.link")
    forced = render(server(), "fedora 40", root, renderer="ifcfg-rh")
    assert forced.kv(f"{SCRIPTS}/ifcfg-bond0")["IPADDR"] == "203.0.113.9"
    assert not forced.deleted


def parse_ini(text):
    sections, current = {}, None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            current[key] = value
    return sections


# --- versions -------------------------------------------------------------------------

def test_unknown_distro_is_exit_20_listing_the_supported(tmp_path, capsys):
    from packetnetworking import cli

    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(server()))
    nics = tmp_path / "nics.json"
    nics.write_text(json.dumps(nic_list(2)))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["-M", str(meta), "--nics-file", str(nics), "-o", "plan9 4", "-t",
                  str(tmp_path), "--resolvers", RESOLVERS[0]])
    assert exit_info.value.code == 20
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for distro in ("centos", "rhel", "rocky", "almalinux", "scientific", "fedora"):
        assert distro in err


# --- real-world shapes through the CLI (tests/fixtures/documents, tests/fixtures/lshw) ------

@pytest.mark.parametrize("name", document_names())
def test_metadata_documents_run_through_the_cli(tmp_path, name, capsys):
    ran = document_through_cli(tmp_path, name, "centos 7", lambda i: f"enp{i + 1}s0", capsys)
    if ran is None:  # refused: checked there
        return
    doc, nics, root = ran
    interfaces = doc["network"]["interfaces"]
    tree = Tree.from_disk(root)
    bond = tree.kv(f"{SCRIPTS}/ifcfg-bond0")
    primary = expected_addresses(doc)[0]
    assert bond["IPADDR"] == primary["address"]
    if ipaddress.ip_address(primary["gateway"]) in ipaddress.ip_interface(
            f"{primary['address']}/{primary['cidr']}").network:
        assert bond["GATEWAY"] == primary["gateway"]
    else:  # on-link (Hegel's mock): network-scripts skip such a GATEWAY, the route file has it
        assert "GATEWAY" not in bond
        assert f"default via {primary['gateway']} dev bond0 onlink" in \
            tree.text(f"{SCRIPTS}/route-bond0").splitlines()
    assert bond["MACADDR"] == doc["network"]["bonding"].get("mac", interfaces[0]["mac"])
    bonds = {i.get("bond") or "bond0" for i in interfaces}
    for bond_name in bonds:
        assert tree.kv(f"{SCRIPTS}/ifcfg-{bond_name}")["TYPE"] == "Bond"
    for nic, iface in zip(nics, interfaces):
        slave = tree.kv(f"{SCRIPTS}/ifcfg-{nic['name']}")
        assert (slave["HWADDR"], slave["MASTER"]) == (iface["mac"], iface.get("bond") or "bond0")


# laptop.xml holds no physical port: load_nics_file refuses it (test_samples)
@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURES.iterdir() if p.name != "laptop.xml"))
def test_lshw_captures_pair_with_metadata_built_from_their_macs(tmp_path, name):
    """Each capture's NICs with a MAC of their own become the metadata's interfaces."""
    found = nicmod.load_nics_file((CAPTURES / name).read_bytes(), name)
    macs = [n.mac for n in found]
    unique = [n for n in found if macs.count(n.mac) == 1]
    if not unique:
        # bond slaves share one MAC, or no physical port: the NIC tests cover these
        assert name == "bond-slaves.xml", f"{name}: nothing to pair"
        return
    pairable = unique[:2]
    doc = server("bonded" if len(pairable) == 2 else "individual",
                 bonds=("bond0",) * len(pairable) if len(pairable) == 2 else (None,))
    for iface, nic in zip(doc["network"]["interfaces"], pairable):
        iface["mac"] = nic.mac
    doc["network"]["bonding"]["mac"] = pairable[0].mac
    root = tmp_path / "root"
    root.mkdir()
    builder = Builder(md.parse(doc), found, "centos 7", RESOLVERS)
    builder.initialize().run(str(root))
    tree = Tree.from_disk(root)
    device = "bond0" if len(pairable) == 2 else pairable[0].name
    assert tree.kv(f"{SCRIPTS}/ifcfg-{device}")["IPADDR"] == "203.0.113.9"
    for nic in pairable:
        assert tree.kv(f"{SCRIPTS}/ifcfg-{nic.name}")["HWADDR"] == nic.mac
