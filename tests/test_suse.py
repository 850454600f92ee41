"""SUSE family (wicked ifcfg): every version x layout, read as an operator reads the files.

The keys are wicked's (ifcfg(5), ifcfg-bonding(5), ifroute(5)); values are quoted
the way YaST writes them, and ``bash`` (the files are shell-sourceable) cross-checks
the parser.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.helpers import document_names, expected_addresses, parse_kv
from support.scenarios import document_through_cli
from support.stack_cases import document
from support.trees import Tree
from packetnetworking import metadata as md
from packetnetworking import nics as nicmod
from packetnetworking.run import Builder

NET = "etc/sysconfig/network"
RESOLVERS = ["147.75.207.207", "2001:4860:4860::8888"]

NICS = [("eth0", "3c:ec:ef:41:02:a0"), ("eth1", "3c:ec:ef:41:02:a1"),
        ("eth2", "3c:ec:ef:41:02:a2"), ("eth3", "3c:ec:ef:41:02:a3")]
PUB4 = {"address_family": 4, "public": True, "management": True, "enabled": True,
        "address": "192.0.2.133", "netmask": "255.255.255.254", "cidr": 31,
        "network": "192.0.2.132", "gateway": "192.0.2.132"}
PUB6 = {"address_family": 6, "public": True, "management": True, "enabled": True,
        "address": "2001:db8:5:8e00::5", "cidr": 127,
        "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
        "network": "2001:db8:5:8e00::4", "gateway": "2001:db8:5:8e00::4"}
PRIV4 = {"address_family": 4, "public": False, "management": True, "enabled": True,
         "address": "10.12.40.3", "netmask": "255.255.255.254", "cidr": 31,
         "network": "10.12.40.2", "gateway": "10.12.40.2"}
ELASTIC = {"address_family": 4, "public": True, "management": False, "enabled": True,
           "address": "198.51.100.77", "cidr": 32, "gateway": "198.51.100.77"}
ALL_ADDRESSES = (PUB4, PUB6, PRIV4, ELASTIC)

VERSIONS = ["opensuse 15", "opensuse 15.5", "opensuseproject 15", "sles 12", "sles 15",
            "sles 15.4", "suse 12", "suselinux 15", "opensuse-leap 15.6"]


def server(link="bonded", mode=4, bonds=("bond0", "bond0"), addresses=ALL_ADDRESSES, dhcp=()):
    return document(mode, link, bonds, list(addresses), dhcp,
                    macs=[mac for _, mac in NICS], id="X", hostname="db-2.example.org",
                    plan="c3.medium.x86",
                    operating_system={"slug": "opensuse_15", "distro": "opensuse",
                                      "version": "15"})


def route_lines(text):
    """Non-comment lines of a routes/ifroute file, split into columns."""
    return [line.split() for line in text.splitlines() if line and not line.startswith("#")]


def render(doc, os_name, root, nics=None, write=False, renderer="auto"):
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    count = len(doc["network"]["interfaces"])
    found = nicmod.parse_json(nics or [{"name": n, "mac": m} for n, m in NICS[:count]])
    builder = Builder(md.parse(doc), found, os_name, RESOLVERS, {"renderer": renderer})
    builder.initialize()
    if not write:
        rendered = builder.render(builder.build_tasks(str(root)))
        assert not [p for p, r in rendered.items() if r.action == "delete"]
        return Tree.from_rendered(rendered)
    builder.run(str(root))
    return Tree.from_disk(root)


@pytest.mark.parametrize("os_name", VERSIONS)
def test_bonded_server(tmp_path, os_name):
    tree = render(server(), os_name, tmp_path)
    bond = tree.kv(f"{NET}/ifcfg-bond0")
    assert bond == {
        "STARTMODE": "auto", "BOOTPROTO": "static",
        "IPADDR": "192.0.2.133/31", "IPADDR_1": "10.12.40.3/31", "LABEL_1": "bond0:0",
        "IPADDR_2": "2001:db8:5:8e00::5/127",
        "LLADDR": NICS[0][1], "BONDING_MASTER": "yes",
        "BONDING_MODULE_OPTS": ("mode=802.3ad miimon=100 updelay=200 downdelay=200 "
                                "xmit_hash_policy=layer3+4 lacp_rate=fast"),
        "BONDING_SLAVE_0": "eth0", "BONDING_SLAVE_1": "eth1"}
    for name, mac in NICS[:2]:
        assert tree.kv(f"{NET}/ifcfg-{name}") == {"STARTMODE": "hotplug", "BOOTPROTO": "none"}
        assert mac in tree.text(f"{NET}/ifcfg-{name}")  # the comment names the NIC
    assert route_lines(tree.text(f"{NET}/routes")) == [
        ["default", "192.0.2.132", "-", "bond0"], ["default", "2001:db8:5:8e00::4", "-", "bond0"]]
    assert route_lines(tree.text(f"{NET}/ifroute-bond0")) == [
        ["10.0.0.0/8", "10.12.40.2", "-", "bond0"]]
    assert tree.text("etc/resolv.conf").splitlines()[1:] == [f"nameserver {r}" for r in RESOLVERS]
    assert tree.kv(f"{NET}/config") == {"NETCONFIG_DNS_STATIC_SERVERS": " ".join(RESOLVERS)}
    assert tree.text("etc/hostname") == "db-2.example.org\n"
    assert "192.0.2.133\tdb-2.example.org db-2" in tree.text("etc/hosts").splitlines()
    assert "198.51.100.77" not in "".join(tree.text(f) for f in tree.files())  # elastic IP
    assert all(tree.mode(f) == 0o644 for f in tree.files())
    assert not any(f.startswith("etc/sysconfig/network-scripts") for f in tree.files())


def test_mlag_ha_renders_exactly_like_bonded(tmp_path):
    bonded = render(server("bonded"), "sles 15", tmp_path / "a")
    mlag = render(server("mlag_ha"), "sles 15", tmp_path / "b")
    assert mlag.files() == bonded.files()
    assert all(mlag.text(f) == bonded.text(f) for f in bonded.files())


@pytest.mark.parametrize("os_name", VERSIONS)
def test_two_bonds_with_interleaved_members(tmp_path, os_name):
    tree = render(server(bonds=("bond0", "bond1", "bond0", "bond1")), os_name, tmp_path)
    bond0, bond1 = tree.kv(f"{NET}/ifcfg-bond0"), tree.kv(f"{NET}/ifcfg-bond1")
    assert (bond0["BONDING_SLAVE_0"], bond0["BONDING_SLAVE_1"]) == ("eth0", "eth2")
    assert (bond1["BONDING_SLAVE_0"], bond1["BONDING_SLAVE_1"]) == ("eth1", "eth3")
    assert "BONDING_SLAVE_2" not in bond0 and "BONDING_SLAVE_2" not in bond1
    assert bond0["IPADDR"] == "192.0.2.133/31" and bond0["LLADDR"] == NICS[0][1]
    # bond1: started at boot, no address (BOOTPROTO static without IPADDR: wicked's "just up")
    assert bond1 == {"STARTMODE": "auto", "BOOTPROTO": "static", "LLADDR": NICS[1][1],
                     "BONDING_MASTER": "yes",
                     "BONDING_MODULE_OPTS": bond0["BONDING_MODULE_OPTS"],
                     "BONDING_SLAVE_0": "eth1", "BONDING_SLAVE_1": "eth3"}
    for name, _ in NICS:
        assert tree.kv(f"{NET}/ifcfg-{name}")["STARTMODE"] == "hotplug"
    assert not tree.exists(f"{NET}/ifroute-bond1")
    assert all(line[3] == "bond0" for line in route_lines(tree.text(f"{NET}/routes")))


@pytest.mark.parametrize("os_name", VERSIONS)
def test_private_only_server(tmp_path, os_name):
    tree = render(server(addresses=(PRIV4,)), os_name, tmp_path)
    bond = tree.kv(f"{NET}/ifcfg-bond0")
    assert bond["IPADDR"] == "10.12.40.3/31"
    assert not {"IPADDR_1", "LABEL_1", "IPADDR_2"} & set(bond)
    assert route_lines(tree.text(f"{NET}/routes")) == [["default", "10.12.40.2", "-", "bond0"]]
    assert route_lines(tree.text(f"{NET}/ifroute-bond0")) == [
        ["10.0.0.0/8", "10.12.40.2", "-", "bond0"]]
    assert "10.12.40.3\tdb-2.example.org db-2" in tree.text("etc/hosts").splitlines()


@pytest.mark.parametrize("os_name", VERSIONS)
def test_server_without_ipv6(tmp_path, os_name):
    tree = render(server(addresses=(PUB4, PRIV4)), os_name, tmp_path)
    bond = tree.kv(f"{NET}/ifcfg-bond0")
    assert (bond["IPADDR"], bond["IPADDR_1"]) == ("192.0.2.133/31", "10.12.40.3/31")
    assert "IPADDR_2" not in bond
    assert route_lines(tree.text(f"{NET}/routes")) == [["default", "192.0.2.132", "-", "bond0"]]


def test_public_ipv6_and_private_ipv4_without_public_ipv4(tmp_path):
    tree = render(server(addresses=(PUB6, PRIV4)), "sles 15", tmp_path)
    bond = tree.kv(f"{NET}/ifcfg-bond0")
    assert (bond["IPADDR"], bond["IPADDR_2"]) == ("10.12.40.3/31", "2001:db8:5:8e00::5/127")
    assert "IPADDR_1" not in bond
    assert route_lines(tree.text(f"{NET}/routes")) == [
        ["default", "10.12.40.2", "-", "bond0"], ["default", "2001:db8:5:8e00::4", "-", "bond0"]]


@pytest.mark.parametrize("mode, name", [(0, "balance-rr"), (1, "active-backup"),
                                        (2, "balance-xor"), (3, "broadcast"), (4, "802.3ad"),
                                        (5, "balance-tlb"), (6, "balance-alb")])
def test_bonding_modes(tmp_path, mode, name):
    tree = render(server(mode=mode), "opensuse 15", tmp_path)
    opts = dict(o.split("=") for o in tree.kv(f"{NET}/ifcfg-bond0")["BONDING_MODULE_OPTS"].split())
    assert opts["mode"] == name
    assert (opts["miimon"], opts["updelay"], opts["downdelay"]) == ("100", "200", "200")
    assert ("lacp_rate" in opts) == (mode == 4)
    assert ("xmit_hash_policy" in opts) == (mode in (2, 4))


@pytest.mark.parametrize("os_name", VERSIONS)
def test_individual_server(tmp_path, os_name):
    tree = render(server("individual", bonds=(None, None)), os_name, tmp_path)
    nic = tree.kv(f"{NET}/ifcfg-eth0")
    assert nic == {"STARTMODE": "auto", "BOOTPROTO": "static", "IPADDR": "192.0.2.133/31",
                   "IPADDR_1": "10.12.40.3/31", "LABEL_1": "eth0:0",
                   "IPADDR_2": "2001:db8:5:8e00::5/127"}
    assert NICS[0][1] in tree.text(f"{NET}/ifcfg-eth0")
    assert tree.kv(f"{NET}/ifcfg-eth1") == {"STARTMODE": "manual", "BOOTPROTO": "static"}
    assert route_lines(tree.text(f"{NET}/routes")) == [
        ["default", "192.0.2.132", "-", "eth0"], ["default", "2001:db8:5:8e00::4", "-", "eth0"]]
    assert route_lines(tree.text(f"{NET}/ifroute-eth0")) == [
        ["10.0.0.0/8", "10.12.40.2", "-", "eth0"]]
    assert not tree.exists(f"{NET}/ifcfg-bond0") and not tree.exists(f"{NET}/ifroute-eth1")


def test_label_longer_than_an_interface_name_is_left_out(tmp_path):
    """wicked ignores a label over 15 characters: write the address without one."""
    nics = [{"name": "enp175s0f0np0x", "mac": NICS[0][1]}]
    tree = render(server("individual", bonds=(None,)), "sles 15", tmp_path, nics=nics)
    nic = tree.kv(f"{NET}/ifcfg-enp175s0f0np0x")
    assert nic["IPADDR_1"] == "10.12.40.3/31" and "LABEL_1" not in nic


@pytest.mark.parametrize("os_name", VERSIONS)
def test_dhcp_bonded(tmp_path, os_name):
    tree = render(server(dhcp=(0, 1)), os_name, tmp_path)
    bond = tree.kv(f"{NET}/ifcfg-bond0")
    assert bond["BOOTPROTO"] == "dhcp" and bond["STARTMODE"] == "auto"
    assert bond["LLADDR"] == NICS[0][1] and bond["BONDING_SLAVE_1"] == "eth1"
    assert not {"IPADDR", "IPADDR_1", "IPADDR_2", "LABEL_1"} & set(bond)
    for absent in (f"{NET}/routes", f"{NET}/ifroute-bond0", "etc/resolv.conf", f"{NET}/config"):
        assert not tree.exists(absent), absent
    assert "127.0.1.1\tdb-2.example.org db-2" in tree.text("etc/hosts").splitlines()


@pytest.mark.parametrize("os_name", VERSIONS)
def test_dhcp_individual(tmp_path, os_name):
    tree = render(server("individual", bonds=(None, None), dhcp=(0,)), os_name, tmp_path)
    assert tree.kv(f"{NET}/ifcfg-eth0") == {"STARTMODE": "auto", "BOOTPROTO": "dhcp"}
    assert tree.kv(f"{NET}/ifcfg-eth1") == {"STARTMODE": "manual", "BOOTPROTO": "static"}
    for absent in (f"{NET}/routes", f"{NET}/ifroute-eth0", "etc/resolv.conf", f"{NET}/config"):
        assert not tree.exists(absent), absent


def test_dhcp_second_bond_without_dhcp_member_comes_up_bare(tmp_path):
    tree = render(server(bonds=("bond0", "bond1"), dhcp=(0,)), "sles 15", tmp_path)
    assert tree.kv(f"{NET}/ifcfg-bond0")["BOOTPROTO"] == "dhcp"
    assert tree.kv(f"{NET}/ifcfg-bond1")["BOOTPROTO"] == "static"
    assert "IPADDR" not in tree.kv(f"{NET}/ifcfg-bond1")


def test_netconfig_servers_are_appended_to_the_existing_config(tmp_path):
    """etc/sysconfig/network/config keeps every line the image had; the servers are added
    once (a second run adds nothing) and, the file being sourced, the last one wins."""
    root = tmp_path / "root"
    (root / NET).mkdir(parents=True)
    original = ('## Path: System/Network\nNETCONFIG_MODULES_ORDER="dns-resolver dns-bind"\n'
                'NETCONFIG_DNS_STATIC_SERVERS=""\n')
    (root / NET / "config").write_text(original)
    tree = render(server(), "sles 15", root, write=True)
    text = tree.text(f"{NET}/config")
    assert text.startswith(original)
    assert text.splitlines()[-1] == f'NETCONFIG_DNS_STATIC_SERVERS="{" ".join(RESOLVERS)}"'
    again = render(server(), "sles 15", root, write=True)
    assert again.text(f"{NET}/config") == text
    if shutil.which("bash"):
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-c",
                               '. "$1"; printf %s "$NETCONFIG_DNS_STATIC_SERVERS"', "_",
                               str(root / NET / "config")], capture_output=True, text=True,
                              timeout=30)
        assert proc.stdout == " ".join(RESOLVERS)


@pytest.mark.parametrize("link", ["/run/netconfig/resolv.conf", "../run/netconfig/resolv.conf",
                                  "/var/run/netconfig/resolv.conf"])
def test_resolv_conf_linked_into_run_is_left_alone(tmp_path, link):
    """Leap links etc/resolv.conf to /run/netconfig/resolv.conf, a tmpfs at boot: writing
    through the link would be lost. netconfig writes it from the config at boot instead."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "var").mkdir()
    os.symlink("../run", root / "var" / "run")
    os.symlink(link, root / "etc" / "resolv.conf")
    tree = render(server(), "opensuse 15", root, write=True)
    assert os.readlink(root / "etc" / "resolv.conf") == link
    assert not (root / "run").exists()
    assert tree.kv(f"{NET}/config") == {"NETCONFIG_DNS_STATIC_SERVERS": " ".join(RESOLVERS)}


def test_plain_resolv_conf_is_written(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "resolv.conf").write_text("nameserver 192.0.2.1\n")
    tree = render(server(), "sles 12", root, write=True)
    assert tree.text("etc/resolv.conf").splitlines()[1:] == [f"nameserver {r}" for r in RESOLVERS]


def test_release_16_gets_networkmanager_keyfiles(tmp_path):
    """wicked is gone in 16: auto writes NetworkManager keyfiles, no wicked files."""
    tree = render(server(), "sles 16", tmp_path)
    assert not any(f.startswith(f"{NET}/ifcfg-") for f in tree.files())
    assert any(f.startswith("etc/NetworkManager/system-connections/") for f in tree.files())


@pytest.mark.parametrize("name", document_names())
def test_metadata_documents_run_through_the_cli(tmp_path, name, capsys):
    """The real-world shapes in tests/fixtures/documents."""
    ran = document_through_cli(tmp_path, name, "sles 15", lambda i: f"eth{i}", capsys)
    if ran is None:  # refused: checked there
        return
    doc, nics, root = ran
    interfaces = doc["network"]["interfaces"]
    primary = expected_addresses(doc)[0]
    bond = parse_kv((root / NET / "ifcfg-bond0").read_text())
    assert bond["IPADDR"] == f"{primary['address']}/{primary['cidr']}"
    assert bond["LLADDR"] == doc["network"]["bonding"].get("mac", interfaces[0]["mac"])
    routes = route_lines((root / NET / "routes").read_text())
    assert ["default", primary["gateway"], "-", "bond0"] in routes
    for nic, iface in zip(nics, interfaces):
        members = parse_kv((root / NET / f"ifcfg-{iface.get('bond') or 'bond0'}").read_text())
        assert nic["name"] in [v for k, v in members.items() if k.startswith("BONDING_SLAVE_")]
