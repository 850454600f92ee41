"""The systemd-networkd stack: .link, .netdev and .network files for every layout."""
import json
import os
import stat

import pytest

from packetnetworking.renderers import shared_renderer
from packetnetworking.renderers.networkd.builder import NetworkdBuilder
from support.stack_cases import (CASES, MACS, NAMES, RESOLVERS, document, parse_unit, render_stack,
                         routes, run_cli, values)

DIR = "etc/systemd/network"


def render(doc, nic_count, **kwargs):
    rendered = render_stack([NetworkdBuilder], doc, nic_count, **kwargs)
    assert all(path.startswith(DIR + "/05-packet-") for path in rendered)
    return rendered


def unit(rendered, name, kind):
    path = f"{DIR}/05-packet-{name}.{kind}"
    assert path in rendered, f"{path} not written; files: {sorted(rendered)}"
    return parse_unit(rendered[path].content)


def network_of(rendered, device):
    """The parsed .network that configures ``device`` (by its [Match] Name=)."""
    return unit(rendered, device, "network")


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_layout(case):
    doc, nic_count, exp = CASES[case]
    rendered = render(doc, nic_count)

    # Every NIC: name pinned by permanent MAC, and a .network matching it by that MAC.
    for name, mac in exp.nics.items():
        link = unit(rendered, name, "link")
        assert values(link, "Match", "PermanentMACAddress") == [mac]
        assert values(link, "Match", "MACAddress") == [mac]
        assert values(link, "Link", "Name") == [name]
        network = network_of(rendered, name)
        assert values(network, "Match", "PermanentMACAddress") == [mac]
        assert values(network, "Match", "Name") == [name]

    # Bonds: netdev with mode, options and MAC; members point at their bond.
    netdevs = sorted(p for p in rendered if p.endswith(".netdev"))
    assert netdevs == sorted(f"{DIR}/05-packet-{b.name}.netdev" for b in exp.bonds)
    for bond in exp.bonds:
        netdev = unit(rendered, bond.name, "netdev")
        assert values(netdev, "NetDev", "Name") == [bond.name]
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
        for member in bond.members:
            member_net = network_of(rendered, member)
            assert values(member_net, "Network", "Bond") == [bond.name]
            assert values(member_net, "Network", "Address") == []
            assert values(member_net, "Link", "RequiredForOnline") == ["no"]
        bond_net = network_of(rendered, bond.name)
        assert values(bond_net, "Match", "Name") == [bond.name]
        assert values(bond_net, "Network", "ConfigureWithoutCarrier") == ["yes"]
    members = {m for b in exp.bonds for m in b.members}
    for name in exp.nics:
        if name not in members:
            assert values(network_of(rendered, name), "Network", "Bond") == []

    # The device carrying the addresses.
    if exp.device:
        net = network_of(rendered, exp.device)
        assert values(net, "Network", "Address") == exp.addresses
        gateways = [g for g in (exp.gateway4, exp.gateway6) if g]
        assert values(net, "Network", "Gateway") == gateways
        assert routes(net) == exp.private_routes
        assert values(net, "Network", "DNS") == exp.dns
        assert values(net, "Network", "IPv6AcceptRA") == ["no"]
        assert values(net, "Network", "DHCP") == []
    # Only that device has addresses.
    for path, text in rendered.items():
        if path.endswith(".network") and (exp.device is None
                                          or path != f"{DIR}/05-packet-{exp.device}.network"):
            sections = parse_unit(text.content)
            assert values(sections, "Network", "Address") == [], path
            assert values(sections, "Network", "Gateway") == [], path
            assert routes(sections) == [], path
    for device in exp.dhcp:
        assert values(network_of(rendered, device), "Network", "DHCP") == ["ipv4"]
        assert values(network_of(rendered, device), "Network", "DNS") == []
    for device in exp.bare:
        net = network_of(rendered, device)
        assert values(net, "Network", "LinkLocalAddressing") == ["no"]
        assert values(net, "Network", "DHCP") == []
        assert values(net, "Link", "RequiredForOnline") == ["no"]
    # Nothing for a device the case does not name.
    expected_networks = set(exp.nics) | {b.name for b in exp.bonds}
    assert {p.rsplit("05-packet-", 1)[1].rsplit(".", 1)[0] for p in rendered
            if p.endswith(".network")} == expected_networks


def test_files_are_deterministic_with_a_header_and_mode_0644():
    doc, nic_count, _ = CASES["two-bonds-interleaved"]
    first = render(doc, nic_count)
    second = render(doc, nic_count)
    assert {p: r.content for p, r in first.items()} == {p: r.content for p, r in second.items()}
    for path, rendered in first.items():
        assert rendered.mode == 0o644, path
        assert rendered.content.startswith("# Generated by packet-networking"), path
        assert "\n\n\n" not in rendered.content, path


def test_elastic_and_disabled_addresses_are_not_configured():
    doc = document()
    doc["network"]["addresses"].append({
        "address_family": 4, "public": True, "management": True, "enabled": False,
        "address": "192.0.2.77", "cidr": 31, "gateway": "192.0.2.76"})
    text = render(doc, 2)[f"{DIR}/05-packet-bond0.network"].content
    assert "203.0.113.9" not in text and "192.0.2.77" not in text


def test_no_resolvers_no_dns_lines():
    doc, nic_count, _ = CASES["bonded-lacp"]
    rendered = render(doc, nic_count, resolvers=[])
    assert values(network_of(rendered, "bond0"), "Network", "DNS") == []


def test_registered_as_shared_renderer():
    assert shared_renderer("networkd") == [NetworkdBuilder]


# --- through the CLI: Flatcar (networkd only) and a forced renderer -------------------------

def _run(tmp_path, os_name, *extra, doc=None, nic_count=2):
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps(doc or document()))
    nics = tmp_path / "nics.json"
    nics.write_text(json.dumps([{"name": NAMES[i], "mac": MACS[i]} for i in range(nic_count)]))
    args = ["-M", str(meta), "--nics-file", str(nics), "-o", os_name, "-t", str(root),
            "--resolvers", ",".join(RESOLVERS), "-q", *extra]
    return run_cli(args)[0], root


def test_flatcar_gets_networkd_and_keeps_resolved_link(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("../run/systemd/resolve/resolv.conf", root / "etc" / "resolv.conf")
    code, root = _run(tmp_path, "flatcar 4081.2.0")
    assert code == 0
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert written == sorted([
        "etc/hostname", "etc/hosts",
        f"{DIR}/05-packet-bond0.netdev", f"{DIR}/05-packet-bond0.network",
        f"{DIR}/05-packet-{NAMES[0]}.link", f"{DIR}/05-packet-{NAMES[0]}.network",
        f"{DIR}/05-packet-{NAMES[1]}.link", f"{DIR}/05-packet-{NAMES[1]}.network",
        "var/lib/packet-networking/manifest.json"])
    # resolv.conf is resolved's link, left alone; the servers are in DNS=.
    assert os.readlink(root / "etc" / "resolv.conf") == "../run/systemd/resolve/resolv.conf"
    bond = parse_unit((root / DIR / "05-packet-bond0.network").read_text())
    assert values(bond, "Network", "DNS") == RESOLVERS
    assert values(bond, "Network", "Address") == CASES["bonded-lacp"][2].addresses
    for path in (root / DIR).iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("renderer", ["eni", "ifcfg-rh", "wicked", "ifcfg", "netplan",
                                      "networkmanager"])
def test_flatcar_refuses_other_stacks(tmp_path, renderer):
    code, root = _run(tmp_path, "flatcar 4081.2.0", "--renderer", renderer)
    assert code == 20
    assert not any(root.iterdir())


def test_forced_networkd_on_a_family_that_accepts_it(tmp_path):
    code, root = _run(tmp_path, "rocky 9", "--renderer", "networkd")
    assert code == 0
    assert (root / DIR / "05-packet-bond0.netdev").is_file()
    assert not (root / "etc/sysconfig/network-scripts/ifcfg-bond0").exists()
    assert not (root / "etc/NetworkManager/system-connections").exists()


NM_CONF = "etc/NetworkManager/conf.d/90-packet-networking.conf"


def test_networkmanager_in_the_target_leaves_networkds_devices_alone(tmp_path):
    root = tmp_path / "root"
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/NetworkManager").touch()
    code, root = _run(tmp_path, "rocky 9", "--renderer", "networkd",
                      doc=document(bonds=("bond0", "bond1", "bond0", "bond1")), nic_count=4)
    assert code == 0
    sections = parse_unit((root / NM_CONF).read_text())
    # += appends to the distribution's own list (Ubuntu's unmanages most devices)
    assert values(sections, "keyfile", "unmanaged-devices+") == [
        "mac:" + ";mac:".join(MACS) + ";interface-name:bond0;interface-name:bond1;"]


def test_no_networkmanager_no_conf_file(tmp_path):
    code, root = _run(tmp_path, "rocky 9", "--renderer", "networkd")
    assert code == 0
    assert not (root / "etc/NetworkManager").exists()
