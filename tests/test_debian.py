"""Debian and Ubuntu (ifupdown + ifenslave): every version x every layout, read as an operator would.

The inputs are the documents in tests/fixtures/debian/ (2 NICs in bond0, two interleaved
bonds, private-only, no IPv6, individual, DHCP); the expectations below are written out
by hand from those documents, not computed by the code under test.

The helpers here (``render``, ``parse_eni``, ``LAYOUTS``...) are shared with
test_alpine.py and test_ifupdown_validator.py.
"""
import copy
import json
import logging
import os
import re
from pathlib import Path

import pytest

from packetnetworking import metadata as md
from packetnetworking import nics as nic_lists
from packetnetworking.run import Builder
from packetnetworking.distros.debian import releases
from packetnetworking.releases import match_release

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "debian"
RESOLVERS = ("147.75.207.207", "147.75.207.208")

#: What the installed Debian/Ubuntu calls the NICs (the metadata says eth0..eth3).
OS_NAMES = {"eth0": "enp65s0f0", "eth1": "enp65s0f1", "eth2": "enp66s0f0", "eth3": "enp66s0f1"}
MACS = {"eth0": "0c:c4:7a:3e:51:20", "eth1": "0c:c4:7a:3e:51:21",
        "eth2": "0c:c4:7a:3e:51:22", "eth3": "0c:c4:7a:3e:51:23"}
#: A NIC on the machine that the metadata does not mention: never configured.
SPARE_NIC = {"name": "eno1", "mac": "0c:c4:7a:3e:51:99", "driver": "igb"}

DEBIAN_VERSIONS = ["debian 9", "debian 10", "debian 11", "debian 12", "debian 13"]
UBUNTU_VERSIONS = ["ubuntu 16.04", "ubuntu 18.04", "ubuntu 20.04", "ubuntu 22.04", "ubuntu 24.04"]
ALPINE_VERSIONS = ["alpine 3.18", "alpine 3.20"]

PUBLIC4 = ("147.75.64.11", "255.255.255.254", 31, "147.75.64.10")
PUBLIC6 = ("2604:1380:4601:a700::3", 127, "2604:1380:4601:a700::2")
PRIVATE4 = ("10.68.12.5", "255.255.255.254", 31, "10.68.12.4")
PRIVATE_ONLY4 = ("10.70.3.131", "255.255.255.248", 29, "10.70.3.129")

#: layout name -> fixture, metadata changes and what an operator expects to find.
#: ``bonds``: {bond: (members, pinned MAC)}, bond0 first; ``device``: what carries the
#: addresses; ``ipv4``/``ipv6``/``alias``: the addresses; ``routes``: (subnet, via);
#: ``dhcp``: devices asking for DHCP; ``manual``: devices up without addresses.
LAYOUTS = {
    "bonded": dict(
        fixture="bonded", mode=4, bonds={"bond0": (["eth0", "eth1"], MACS["eth0"])},
        device="bond0", ipv4=PUBLIC4, ipv6=PUBLIC6, alias=PRIVATE4,
        routes=[("10.0.0.0/8", "10.68.12.4")], dhcp=[], manual=[]),
    "mlag_ha": dict(
        fixture="bonded", link_aggregation="mlag_ha", mode=4,
        bonds={"bond0": (["eth0", "eth1"], MACS["eth0"])},
        device="bond0", ipv4=PUBLIC4, ipv6=PUBLIC6, alias=PRIVATE4,
        routes=[("10.0.0.0/8", "10.68.12.4")], dhcp=[], manual=[]),
    "two-bonds": dict(
        fixture="two-bonds", mode=4,
        bonds={"bond0": (["eth0", "eth2"], MACS["eth0"]), "bond1": (["eth1", "eth3"], MACS["eth1"])},
        device="bond0", ipv4=PUBLIC4, ipv6=PUBLIC6, alias=PRIVATE4,
        routes=[("10.0.0.0/8", "10.68.12.4")], dhcp=[], manual=["bond1"]),
    "private-only": dict(
        fixture="private-only", mode=4, bonds={"bond0": (["eth0", "eth1"], MACS["eth0"])},
        device="bond0", ipv4=PRIVATE_ONLY4, ipv6=None, alias=None,
        routes=[("10.0.0.0/8", "10.70.3.129"), ("192.168.0.0/16", "10.70.3.129")],
        dhcp=[], manual=[]),
    "no-ipv6": dict(
        fixture="no-ipv6", mode=5, bonds={"bond0": (["eth0", "eth1"], MACS["eth0"])},
        device="bond0", ipv4=PUBLIC4, ipv6=None, alias=PRIVATE4,
        routes=[("10.0.0.0/8", "10.68.12.4")], dhcp=[], manual=[]),
    "individual": dict(
        fixture="individual", mode=4, bonds={}, device="eth0", ipv4=PUBLIC4, ipv6=PUBLIC6,
        alias=PRIVATE4, routes=[("10.0.0.0/8", "10.68.12.4")], dhcp=[], manual=["eth1"]),
    "dhcp": dict(
        fixture="dhcp", mode=4, bonds={"bond0": (["eth0", "eth1"], MACS["eth0"])},
        device=None, ipv4=None, ipv6=None, alias=None, routes=[], dhcp=["bond0"], manual=[]),
    "dhcp-individual": dict(
        fixture="dhcp-individual", mode=4, bonds={}, device=None, ipv4=None, ipv6=None,
        alias=None, routes=[], dhcp=["eth0"], manual=["eth1"]),
}

MODE_NAMES = {0: "balance-rr", 1: "active-backup", 2: "balance-xor", 3: "broadcast",
              4: "802.3ad", 5: "balance-tlb", 6: "balance-alb"}


# --- helpers shared with test_alpine.py and test_ifupdown_validator.py ------------------

def load_doc(layout, mode=None):
    """The metadata dict for ``layout`` (a LAYOUTS key), bonding mode set."""
    spec = LAYOUTS[layout]
    doc = json.loads((FIXTURES / f"{spec['fixture']}.json").read_text())
    doc["network"]["bonding"]["mode"] = spec["mode"] if mode is None else mode
    if "link_aggregation" in spec:
        doc["network"]["bonding"]["link_aggregation"] = spec["link_aggregation"]
    return doc


def nic_list(doc, spare=True):
    """The machine's NICs: the metadata's MACs under their OS names, plus a spare NIC."""
    nics = [{"name": OS_NAMES[i["name"]], "mac": i["mac"], "driver": "ixgbe"}
            for i in doc["network"]["interfaces"]]
    return nics + ([dict(SPARE_NIC)] if spare else [])


def render(root, doc, os_name, renderer="eni", resolvers=RESOLVERS, nics=None):
    """Run the tool in-process into ``root``; return ``{relpath: text}`` of every file."""
    meta = md.parse(copy.deepcopy(doc))
    found = nic_lists.parse_json(nics if nics is not None else nic_list(doc))
    builder = Builder(meta, found, os_name, list(resolvers), options={"renderer": renderer})
    builder.initialize()
    builder.run(str(root))
    return read_tree(root)


def read_tree(root):
    root = Path(root)
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def file_mode(root, rel):
    return os.stat(Path(root) / rel).st_mode & 0o7777


def parse_eni(text):
    """``[(name, family, method, [(key, value)])]`` per ``iface`` stanza, and the auto list."""
    stanzas, autos = [], []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split(None, 1)
        if words[0] == "auto":
            autos.extend(words[1].split())
        elif words[0] == "iface":
            name, family, method = words[1].split()
            stanzas.append((name, family, method, []))
        else:
            assert raw.startswith("    "), f"option outside a stanza: {raw!r}"
            stanzas[-1][3].append((words[0], words[1] if len(words) > 1 else ""))
    return stanzas, autos


def stanza(stanzas, name, family="inet"):
    found = [s for s in stanzas if s[0] == name and s[1] == family]
    assert len(found) == 1, f"expected one 'iface {name} {family}' stanza, found {len(found)}"
    return found[0]


def options(st, key):
    return [value for k, value in st[3] if k == key]


def option(st, key):
    values = options(st, key)
    assert len(values) == 1, f"iface {st[0]} {st[1]}: expected one {key}, found {values}"
    return values[0]


def check_common_file(text):
    """Header first, no runs of blank lines, one final newline."""
    assert text.startswith("# Generated by packet-networking"), text.splitlines()[0]
    assert "\n\n\n" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")


# --- Debian / Ubuntu ----------------------------------------------------------------------

def check_debian_interfaces(text, layout, os_name, mode):
    """Everything an operator checks in a Debian/Ubuntu /etc/network/interfaces."""
    spec = LAYOUTS[layout]
    name = lambda meta: OS_NAMES.get(meta, meta)  # noqa: E731
    check_common_file(text)
    stanzas, autos = parse_eni(text)
    assert stanza(stanzas, "lo")[2] == "loopback"
    assert len(autos) == len(set(autos))
    names = [s[0] for s in stanzas if s[1] == "inet"]
    assert set(autos) == set(names), "every interface written is brought up at boot"
    assert SPARE_NIC["name"] not in names, "a NIC the metadata does not mention is left alone"

    # bonds: members, options, MAC pinning, order
    bond_first = os_name == "debian 10"
    for bond, (members, mac) in spec["bonds"].items():
        st = stanza(stanzas, bond)
        assert option(st, "bond-slaves").split() == [name(m) for m in members]
        assert option(st, "bond-mode") == MODE_NAMES[mode]
        assert option(st, "bond-miimon") == "100"
        assert option(st, "bond-updelay") == "200"
        assert option(st, "bond-downdelay") == "200"
        assert options(st, "bond-lacp-rate") == (["fast"] if mode == 4 else [])
        assert options(st, "bond-xmit-hash-policy") == (["layer3+4"] if mode in (2, 4) else [])
        assert option(st, "hwaddress").split() == ["ether", mac]
        for member in members:
            mst = stanza(stanzas, name(member))
            assert mst[2] == "manual" and option(mst, "bond-master") == bond
            assert not options(mst, "address")
            before = names.index(name(member)) < names.index(bond)
            assert before != bond_first, f"{os_name}: {member} vs {bond} order"
    if not spec["bonds"]:
        assert not any(k.startswith("bond-") for s in stanzas for k, _ in s[3])

    for dev in spec["manual"]:
        st = stanza(stanzas, name(dev))
        assert st[2] == "manual" and not options(st, "address") and not options(st, "gateway")
    for dev in spec["dhcp"]:
        assert stanza(stanzas, name(dev))[2] == "dhcp"
    check_staggered_members(stanzas, spec, name)
    check_router_advertisements_off(stanzas, spec, name, names)

    if spec["device"] is None:  # DHCP: no static address, route or nameserver anywhere
        assert not any(k in ("address", "gateway", "dns-nameservers") for s in stanzas
                       for k, _ in s[3])
        assert "ip route" not in text and ":0" not in text
        return

    device = name(spec["device"])
    st = stanza(stanzas, device)
    address, netmask, _, gateway = spec["ipv4"]
    assert st[2] == "static"
    assert (option(st, "address"), option(st, "netmask"), option(st, "gateway")) == (
        address, netmask, gateway)
    assert option(st, "dns-nameservers").split() == list(RESOLVERS)
    v6 = [s for s in stanzas if s[0] == device and s[1] == "inet6"]
    if spec["ipv6"]:
        (st6,) = v6
        assert st6[2] == "static"
        assert (option(st6, "address"), option(st6, "netmask"), option(st6, "gateway")) == (
            spec["ipv6"][0], str(spec["ipv6"][1]), spec["ipv6"][2])
    else:
        assert not v6
    if spec["alias"]:
        alias = stanza(stanzas, f"{device}:0")
        assert alias[2] == "static"
        assert (option(alias, "address"), option(alias, "netmask")) == spec["alias"][:2]
        assert not options(alias, "gateway"), "one default route only"
        route_stanza = alias
    else:
        assert f"{device}:0" not in names
        route_stanza = st
    ups = [f"ip route replace {net} via {via} dev {device}" for net, via in spec["routes"]]
    downs = [f"ip route del {net} via {via} dev {device} || true" for net, via in spec["routes"]]
    assert [u for u in options(route_stanza, "up") if u != ra_off(device)] == ups
    assert options(route_stanza, "down") == downs
    assert text.count("ip route replace") == len(ups), "each private route is added once"
    assert not re.search(r"^\s*(up|down|post-up|pre-down)\s+route\b", text, re.M), \
        "net-tools `route` is missing on minimal Debian 12: iproute2 only"


def ra_off(dev):
    """The line that turns IPv6 router advertisements off on ``dev`` (kernel setting)."""
    knob = f"/proc/sys/net/ipv6/conf/{dev}/accept_ra"
    return f"test ! -w {knob} || echo 0 > {knob}"


def check_staggered_members(stanzas, spec, name):
    """Production's staggered bring-up: every member of a bond after its first waits 4 s
    (the first NIC then wins the LACP negotiation); the first does not wait."""
    for members, _ in spec["bonds"].values():
        for i, member in enumerate(members):
            sleeps = [v for v in options(stanza(stanzas, name(member)), "pre-up")
                      if v.startswith("sleep")]
            assert sleeps == (["sleep 4"] if i else []), (member, sleeps)
    for st in stanzas:
        if st[0] not in [name(m) for members, _ in spec["bonds"].values() for m in members]:
            assert not [v for v in options(st, "pre-up") if v.startswith("sleep")], st


def check_router_advertisements_off(stanzas, spec, name, names, alpine=False):
    """Static layouts turn IPv6 router advertisements off on every device they configure:
    ``accept_ra 0`` in Debian's ``inet6 static`` stanza, else the kernel setting before the
    link comes up (``pre-up``; for a Debian bond, created by ifenslave's hook after the
    stanza's pre-up lines, ``up``). DHCP layouts leave them alone."""
    text_lines = [v for st in stanzas for k, v in st[3] if "accept_ra" in k + v]
    if spec["device"] is None:
        assert not text_lines
        return
    for dev in names:
        if dev == "lo" or ":" in dev:
            continue
        st = stanza(stanzas, dev)
        static6 = not alpine and spec["ipv6"] and dev == name(spec["device"])
        if static6:
            assert option(stanza(stanzas, dev, "inet6"), "accept_ra") == "0"
            assert ra_off(dev) not in options(st, "pre-up") + options(st, "up")
            continue
        phase = "up" if dev in spec["bonds"] and not alpine else "pre-up"
        other = "pre-up" if phase == "up" else "up"
        assert options(st, phase).count(ra_off(dev)) == 1, (dev, phase, st)
        assert ra_off(dev) not in options(st, other), (dev, other)


def expected_resolver_file(os_name):
    rule = match_release(releases.UBUNTU if os_name.startswith("ubuntu") else releases.DEBIAN,
                         _os(os_name))
    return "etc/systemd/resolved.conf" if rule.resolved else "etc/resolv.conf"


def _os(os_name):
    from packetnetworking.operating_system import _make_os
    distro, version = os_name.split()
    return _make_os(distro, version)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("os_name", DEBIAN_VERSIONS + UBUNTU_VERSIONS)
def test_every_version_and_layout(tmp_path, os_name, layout):
    doc = load_doc(layout)
    files = render(tmp_path, doc, os_name)
    check_debian_interfaces(files["etc/network/interfaces"], layout, os_name,
                            LAYOUTS[layout]["mode"])
    bonded = bool(LAYOUTS[layout]["bonds"])
    assert files.get("etc/modules") == ("bonding\n" if bonded else None)
    # every matched NIC is pinned by its permanent MAC; the bond and the spare NIC are not
    rules = files["etc/udev/rules.d/70-persistent-net.rules"]
    check_common_file(rules)
    lines = [l for l in rules.splitlines() if l and not l.startswith("#")]
    expected = sorted((OS_NAMES[i["name"]], i["mac"]) for i in doc["network"]["interfaces"])
    assert sorted(re.search(r'ATTR\{address\}=="([^"]+)".*NAME="([^"]+)"', l).group(2, 1)
                  for l in lines) == expected
    assert all('SUBSYSTEM=="net"' in l and 'ACTION=="add"' in l and 'DRIVERS=="?*"' in l
               for l in lines)
    # nameservers where the release reads them, none with DHCP
    resolver_file = expected_resolver_file(os_name)
    other = ({"etc/resolv.conf", "etc/systemd/resolved.conf"} - {resolver_file}).pop()
    assert other not in files
    if LAYOUTS[layout]["dhcp"]:
        assert resolver_file not in files
    elif resolver_file == "etc/resolv.conf":
        assert [l for l in files[resolver_file].splitlines() if not l.startswith("#")] == [
            f"nameserver {r}" for r in RESOLVERS]
    else:
        text = files[resolver_file]
        check_common_file(text)
        assert "[Resolve]" in text.splitlines()
        assert f"DNS={' '.join(RESOLVERS)}" in text.splitlines()
    assert files["etc/hostname"] == doc["hostname"] + "\n"
    for rel in ("etc/network/interfaces", "etc/modules", "etc/hostname",
                "etc/udev/rules.d/70-persistent-net.rules"):
        if rel in files:
            assert file_mode(tmp_path, rel) == 0o644


@pytest.mark.parametrize("mode", range(7))
@pytest.mark.parametrize("os_name", ["debian 12", "ubuntu 22.04"])
def test_bonding_modes(tmp_path, os_name, mode):
    for layout in ("bonded", "two-bonds"):
        root = tmp_path / layout
        root.mkdir()
        files = render(root, load_doc(layout, mode=mode), os_name)
        check_debian_interfaces(files["etc/network/interfaces"], layout, os_name, mode)


def test_mlag_ha_is_rendered_like_bonded(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = render(tmp_path / "a", load_doc("bonded"), "debian 12")
    b = render(tmp_path / "b", load_doc("mlag_ha"), "debian 12")
    assert a == b


def test_debian_10_writes_the_bond_before_its_members(tmp_path):
    text = render(tmp_path, load_doc("bonded"), "debian 10")["etc/network/interfaces"]
    autos = re.findall(r"^auto (\S+)", text, re.M)
    assert autos == ["lo", "bond0", "bond0:0", "enp65s0f0", "enp65s0f1"]


def test_other_versions_write_the_members_first(tmp_path):
    text = render(tmp_path, load_doc("two-bonds"), "debian 12")["etc/network/interfaces"]
    autos = re.findall(r"^auto (\S+)", text, re.M)
    assert autos == ["lo", "enp65s0f0", "enp66s0f0", "bond0", "bond0:0",
                     "enp65s0f1", "enp66s0f1", "bond1"]


def test_second_run_changes_nothing_and_appends_bonding_once(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/modules").write_text("# /etc/modules: kernel modules to load at boot\nloop\n")
    first = render(tmp_path, load_doc("bonded"), "debian 12")
    second = render(tmp_path, load_doc("bonded"), "debian 12")
    assert first == second
    assert first["etc/modules"] == ("# /etc/modules: kernel modules to load at boot\nloop\n"
                                    "bonding\n")


def test_ubuntu_resolv_conf_link_is_left_alone(tmp_path):
    (tmp_path / "etc").mkdir()
    os.symlink("../run/systemd/resolve/stub-resolv.conf", tmp_path / "etc/resolv.conf")
    files = render(tmp_path, load_doc("bonded"), "ubuntu 22.04")
    assert os.readlink(tmp_path / "etc/resolv.conf") == "../run/systemd/resolve/stub-resolv.conf"
    assert not (tmp_path / "run").exists()
    assert "DNS=147.75.207.207 147.75.207.208" in files["etc/systemd/resolved.conf"]


def test_debian_with_systemd_resolved_gets_resolved_conf(tmp_path):
    """A Debian image whose resolv.conf is resolved's stub: writing through the link
    would land on run/ (a tmpfs at boot), so the servers go to resolved.conf."""
    (tmp_path / "etc").mkdir()
    os.symlink("/run/systemd/resolve/stub-resolv.conf", tmp_path / "etc/resolv.conf")
    files = render(tmp_path, load_doc("bonded"), "debian 12")
    assert os.readlink(tmp_path / "etc/resolv.conf") == "/run/systemd/resolve/stub-resolv.conf"
    assert not (tmp_path / "run").exists()
    assert "DNS=147.75.207.207 147.75.207.208" in files["etc/systemd/resolved.conf"]


def test_debian_with_a_plain_resolv_conf_gets_it_rewritten(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/resolv.conf").write_text("nameserver 192.0.2.1\n")
    files = render(tmp_path, load_doc("bonded"), "debian 12")
    assert "nameserver 147.75.207.207" in files["etc/resolv.conf"]
    assert "192.0.2.1" not in files["etc/resolv.conf"]
    assert "etc/systemd/resolved.conf" not in files


def test_ubuntu_16_04_writes_resolv_conf(tmp_path):
    files = render(tmp_path, load_doc("bonded"), "ubuntu 16.04")
    assert "nameserver 147.75.207.207" in files["etc/resolv.conf"]
    assert "etc/systemd/resolved.conf" not in files


def test_no_resolvers_leaves_the_resolver_files_alone(tmp_path, caplog):
    files = render(tmp_path, load_doc("bonded"), "ubuntu 24.04", resolvers=())
    assert "etc/systemd/resolved.conf" not in files and "etc/resolv.conf" not in files
    assert "dns-nameservers" not in files["etc/network/interfaces"]
    assert "resolved.conf left alone" in caplog.text


@pytest.mark.parametrize("os_name, expected", [
    ("debian 12.5", (12,)), ("ubuntu 22.04.3", (22, 4)), ("debian 10", (10,)),
])
def test_versions_match_on_their_leading_numbers(os_name, expected, caplog):
    table = releases.UBUNTU if os_name.startswith("ubuntu") else releases.DEBIAN
    with caplog.at_level(logging.WARNING):
        rule = match_release(table, _os(os_name))
    assert rule.version == expected
    assert not caplog.records


@pytest.mark.parametrize("os_name, chosen", [
    ("debian 14", "13"), ("debian sid", "13"), ("ubuntu 23.10", "22.04"), ("ubuntu 26.04", "24.04"),
    ("debian 8", "9"), ("ubuntu 14.04", "16.04"),
])
def test_unknown_version_uses_the_nearest_older_rule_and_warns(tmp_path, os_name, chosen,
                                                               caplog):
    with caplog.at_level(logging.WARNING):
        files = render(tmp_path, load_doc("bonded"), os_name)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no rule for this version" in w and w.endswith(f"rules of {os_name.split()[0]} "
                                                                f"{chosen}") for w in warnings), warnings
    check_debian_interfaces(files["etc/network/interfaces"], "bonded", os_name, 4)
    if os_name == "ubuntu 14.04":  # before systemd-resolved: resolv.conf, as 16.04
        assert "etc/systemd/resolved.conf" not in files and "etc/resolv.conf" in files
    elif os_name.startswith("ubuntu"):
        assert "etc/systemd/resolved.conf" in files


def test_unknown_distro_is_exit_20_naming_the_supported_ones(tmp_path, capsys):
    from packetnetworking import cli

    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(load_doc("bonded")))
    nics = tmp_path / "nics.json"
    nics.write_text(json.dumps(nic_list(load_doc("bonded"))))
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["-M", str(meta), "--nics-file", str(nics), "-o", "gentoo 2.15", "-t", str(root),
                  "--resolvers", "147.75.207.207"])
    assert exit_info.value.code == 20
    err = capsys.readouterr().err
    for distro in ("alpine", "debian", "ubuntu"):
        assert distro in err
    assert not list(root.iterdir())


def test_cli_writes_debian_files(tmp_path, capsys):
    from packetnetworking import cli

    doc = load_doc("two-bonds")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(doc))
    nics = tmp_path / "nics.json"
    nics.write_text(json.dumps(nic_list(doc)))
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["-M", str(meta), "--nics-file", str(nics), "-o", "debian 11", "-t", str(root),
                  "--renderer", "eni", "--resolvers", ",".join(RESOLVERS)])
    assert exit_info.value.code == 0
    text = (root / "etc/network/interfaces").read_text()
    check_debian_interfaces(text, "two-bonds", "debian 11", 4)


def test_only_the_matched_nics_are_configured(tmp_path):
    """A metadata interface with no NIC is left out of every file, bond included."""
    doc = load_doc("two-bonds")
    nics = [n for n in nic_list(doc) if n["mac"] != MACS["eth3"]]
    files = render(tmp_path, doc, "debian 12", nics=nics)
    stanzas, _ = parse_eni(files["etc/network/interfaces"])
    assert option(stanza(stanzas, "bond1"), "bond-slaves") == "enp65s0f1"
    assert "enp66s0f1" not in files["etc/network/interfaces"]
    assert "0c:c4:7a:3e:51:23" not in files["etc/udev/rules.d/70-persistent-net.rules"]


def test_ipv6_only_server_keeps_the_bond_up_without_ipv4(tmp_path):
    doc = load_doc("bonded")
    doc["network"]["addresses"] = [a for a in doc["network"]["addresses"]
                                   if a["address_family"] == 6]
    files = render(tmp_path, doc, "debian 12")
    stanzas, _ = parse_eni(files["etc/network/interfaces"])
    bond = stanza(stanzas, "bond0")
    assert bond[2] == "manual" and not options(bond, "address")
    assert option(bond, "bond-slaves") == "enp65s0f0 enp65s0f1"
    v6 = stanza(stanzas, "bond0", "inet6")
    assert (option(v6, "address"), option(v6, "netmask")) == (PUBLIC6[0], "127")
    assert "bond0:0" not in files["etc/network/interfaces"]
