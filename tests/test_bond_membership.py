"""Bond membership (docs/metadata.md, network.interfaces) through every family and renderer.

A hybrid server: eth0 and eth1 in bond0, eth2 with ``bond`` null and eth3 without the key.
eth2 and eth3 are in no bond and carry nothing: each renderer leaves them alone in its own
way (no stanza in ENI, no netplan entry, ``Unmanaged=yes`` for networkd, a keyfile with
``autoconnect=false`` for NetworkManager, ``ONBOOT=no`` / ``STARTMODE='manual'`` for the
ifcfg files). When no NIC names a bond (older and hand-made documents, OSIE's CI), every
NIC joins bond0. Each file goes through the real reader where the machine has one:
``ifup --no-act``, ``netplan generate``, libnm.
"""
import pytest
import yaml

from support.helpers import nics_from_metadata, read_kv, run_cli, with_os, write_metadata, write_nics
from support.stack_cases import MACS, NAMES, PUBLIC4, PUBLIC6, PRIVATE4, document, parse_unit, values
from test_ifupdown_validator import ifup_no_act
from test_netplan import netplan_generate
from test_networkmanager import libnm  # noqa: F401  (the fixture)

KEYFILES = "etc/NetworkManager/system-connections"
SCRIPTS = "etc/sysconfig/network-scripts"
SYSCONFIG = "etc/sysconfig/network"
NETWORKD = "etc/systemd/network"


def hybrid():
    """eth0 + eth1 in bond0; eth2 ``"bond": null``; eth3 without ``bond``."""
    doc = document(bonds=("bond0", "bond0", None, None),
                   addresses=[PUBLIC4, PUBLIC6, PRIVATE4])
    doc["network"]["interfaces"][2]["bond"] = None
    return doc


def no_bond_named():
    """Four NICs, none naming a bond (two null, two without the key)."""
    doc = document(bonds=(None, None, None, None), addresses=[PUBLIC4, PUBLIC6, PRIVATE4])
    doc["network"]["interfaces"][0]["bond"] = None
    doc["network"]["interfaces"][1]["bond"] = None
    return doc


def run(tmp_path, doc, distro, version, renderer=None, names=NAMES):
    """Run the CLI for ``distro version`` into a fresh root; return the root."""
    root = with_os(tmp_path / "root", distro, version)
    meta = write_metadata(tmp_path / "metadata.json", doc)
    nics = write_nics(tmp_path / "nics.json", nics_from_metadata(doc, names=names))
    args = ["-M", meta, "--nics-file", nics, "-o", f"{distro} {version}", "-t", root,
            "--resolvers", "147.75.207.207"]
    if renderer:
        args += ["--renderer", renderer]
    code, _, err = run_cli(args)
    assert code == 0, err
    return root


# --- ENI: Debian's ifupdown and Alpine's ifupdown-ng ---------------------------------------
@pytest.mark.parametrize("distro, version, names", [
    ("debian", "12", NAMES), ("ubuntu", "20.04", NAMES),
    ("alpine", "3.19", ["eth0", "eth1", "eth2", "eth3"])])
def test_eni_hybrid_spare_nics_get_no_stanza(tmp_path, distro, version, names):
    renderer = None if distro == "alpine" else "eni"
    root = run(tmp_path, hybrid(), distro, version, renderer)
    path = root / "etc/network/interfaces"
    text = path.read_text()
    members = "bond-members" if distro == "alpine" else "bond-slaves"
    assert f"    {members} {names[0]} {names[1]}\n" in text
    for spare in names[2:]:
        assert spare not in text
    commands = ifup_no_act(path, tmp_path)
    assert "dev bond0" in commands and names[0] in commands
    assert not any(spare in commands for spare in names[2:]), commands
    if distro != "alpine":  # the names stay pinned for the operator's own configuration
        rules = (root / "etc/udev/rules.d/70-persistent-net.rules").read_text()
        assert all(f'NAME="{name}"' in rules for name in names)


@pytest.mark.parametrize("distro, version, names", [
    ("debian", "12", NAMES), ("alpine", "3.19", ["eth0", "eth1", "eth2", "eth3"])])
def test_eni_no_bond_named_every_nic_in_bond0(tmp_path, distro, version, names):
    renderer = None if distro == "alpine" else "eni"
    path = run(tmp_path, no_bond_named(), distro, version, renderer) / "etc/network/interfaces"
    members = "bond-members" if distro == "alpine" else "bond-slaves"
    assert f"    {members} {' '.join(names)}\n" in path.read_text()
    commands = ifup_no_act(path, tmp_path)
    assert all(name in commands for name in names)


# --- ifcfg-rh (RedHat family) and wicked (SUSE) ----------------------------------------------
@pytest.mark.parametrize("distro, version", [("centos", "7"), ("rocky", "9")])
def test_ifcfg_rh_hybrid_spare_nics_are_kept_down(tmp_path, distro, version):
    root = run(tmp_path, hybrid(), distro, version, "ifcfg-rh")
    for member in NAMES[:2]:
        assert read_kv(root / SCRIPTS / f"ifcfg-{member}")["MASTER"] == "bond0"
    for spare, mac in zip(NAMES[2:], MACS[2:]):
        kv = read_kv(root / SCRIPTS / f"ifcfg-{spare}")
        assert (kv["ONBOOT"], kv["BOOTPROTO"], kv["HWADDR"]) == ("no", "none", mac)
        assert not {"MASTER", "SLAVE", "IPADDR", "GATEWAY"} & set(kv)
    bond = read_kv(root / SCRIPTS / "ifcfg-bond0")
    assert bond["IPADDR"] == "198.51.100.23" and bond["ONBOOT"] == "yes"


def test_ifcfg_rh_no_bond_named_every_nic_in_bond0(tmp_path):
    root = run(tmp_path, no_bond_named(), "rocky", "9", "ifcfg-rh")
    assert [read_kv(root / SCRIPTS / f"ifcfg-{n}").get("MASTER") for n in NAMES] == \
        ["bond0"] * 4


def test_wicked_hybrid_spare_nics_are_not_started(tmp_path):
    root = run(tmp_path, hybrid(), "opensuse", "15.5", "wicked")
    bond = read_kv(root / SYSCONFIG / "ifcfg-bond0")
    assert sorted(v for k, v in bond.items() if k.startswith("BONDING_SLAVE")) == NAMES[:2]
    assert bond["IPADDR"] == "198.51.100.23/31"
    for member in NAMES[:2]:
        assert read_kv(root / SYSCONFIG / f"ifcfg-{member}")["STARTMODE"] == "hotplug"
    for spare in NAMES[2:]:
        kv = read_kv(root / SYSCONFIG / f"ifcfg-{spare}")
        assert (kv["STARTMODE"], kv["BOOTPROTO"]) == ("manual", "static")
        assert not any(k.startswith("IPADDR") for k in kv)


def test_wicked_no_bond_named_every_nic_in_bond0(tmp_path):
    root = run(tmp_path, no_bond_named(), "opensuse", "15.5", "wicked")
    bond = read_kv(root / SYSCONFIG / "ifcfg-bond0")
    assert sorted(v for k, v in bond.items() if k.startswith("BONDING_SLAVE")) == NAMES


# --- netplan and networkd -------------------------------------------------------------------
def _netplan(tmp_path, doc):
    root = run(tmp_path, doc, "ubuntu", "24.04", "netplan")
    path = root / "etc/netplan/50-packet.yaml"
    network = yaml.safe_load(path.read_text())["network"]
    generated, _ = netplan_generate(tmp_path, {"etc/netplan/50-packet.yaml":
                                               (path.read_text(), 0o600)})
    return network, generated


def test_netplan_hybrid_spare_nics_have_no_entry(tmp_path):
    network, generated = _netplan(tmp_path, hybrid())
    assert sorted(network["ethernets"]) == NAMES[:2]
    assert network["bonds"]["bond0"]["interfaces"] == NAMES[:2]
    text = "".join(str(sections) for sections in generated.values())
    assert NAMES[0] in text and not any(spare in text for spare in NAMES[2:])


def test_netplan_no_bond_named_every_nic_in_bond0(tmp_path):
    network, generated = _netplan(tmp_path, no_bond_named())
    assert network["bonds"]["bond0"]["interfaces"] == NAMES
    bonded = [name for name, sections in generated.items()
              if values(sections, "Network", "Bond") == ["bond0"]]
    assert len(bonded) == 4


def test_networkd_hybrid_spare_nics_are_unmanaged(tmp_path):
    root = run(tmp_path, hybrid(), "ubuntu", "22.04", "networkd")
    for member in NAMES[:2]:
        sections = parse_unit((root / NETWORKD / f"05-packet-{member}.network").read_text())
        assert values(sections, "Network", "Bond") == ["bond0"]
    for spare, mac in zip(NAMES[2:], MACS[2:]):
        sections = parse_unit((root / NETWORKD / f"05-packet-{spare}.network").read_text())
        assert values(sections, "Match", "PermanentMACAddress") == [mac]
        assert values(sections, "Link", "Unmanaged") == ["yes"]
        assert not [s for s, _ in sections if s in ("Network", "Route")]
        assert (root / NETWORKD / f"05-packet-{spare}.link").exists()  # name still pinned
    assert not (root / NETWORKD / "05-packet-bond1.netdev").exists()


def test_networkd_no_bond_named_every_nic_in_bond0(tmp_path):
    root = run(tmp_path, no_bond_named(), "ubuntu", "22.04", "networkd")
    for name in NAMES:
        sections = parse_unit((root / NETWORKD / f"05-packet-{name}.network").read_text())
        assert values(sections, "Network", "Bond") == ["bond0"]


# --- NetworkManager keyfiles ----------------------------------------------------------------
@pytest.mark.parametrize("distro, version", [("rocky", "9"), ("ubuntu", "24.04")])
def test_keyfiles_hybrid_spare_nics_never_autoconnect(tmp_path, libnm, distro, version):  # noqa: F811
    root = run(tmp_path, hybrid(), distro, version, "networkmanager")
    conns = libnm(root / KEYFILES)
    assert sorted(conns) == sorted(["bond0"] + NAMES)
    for member in NAMES[:2]:
        assert (conns[member]["master"], conns[member]["autoconnect"]) == ("bond0", True)
    for spare, mac in zip(NAMES[2:], MACS[2:]):
        conn = conns[spare]
        assert (conn["autoconnect"], conn["master"]) == (False, None)
        assert conn["mac_address"].lower() == mac
        assert conn["ipv4"]["method"] == "disabled" and conn["ipv6"]["method"] == "disabled"
    assert conns["bond0"]["ipv4"]["addresses"] == ["198.51.100.23/31", "10.66.4.5/31"]


def test_keyfiles_no_bond_named_every_nic_in_bond0(tmp_path, libnm):  # noqa: F811
    root = run(tmp_path, no_bond_named(), "rocky", "9", "networkmanager")
    conns = libnm(root / KEYFILES)
    assert [conns[name]["master"] for name in NAMES] == ["bond0"] * 4
