"""Alpine 3.x (ifupdown-ng, names pinned with mdev + nameif): every layout, as an operator reads it.

Inputs and hand-written expectations are shared with test_debian.py (LAYOUTS). On
Alpine the files use the metadata's names (eth0, eth1...) whatever the NICs are called
in the provisioning environment, and etc/mactab makes those names real.
"""
import logging
import re

import pytest

from test_debian import (ALPINE_VERSIONS, LAYOUTS, MACS, MODE_NAMES, OS_NAMES, RESOLVERS,
                         SPARE_NIC, check_common_file, check_router_advertisements_off,
                         check_staggered_members, file_mode, load_doc, nic_list, option,
                         options, parse_eni, render, stanza)

NAMEIF_RULE = "-SUBSYSTEM=net;DEVPATH=.*/net/.*;.*\troot:root 600 @/sbin/nameif -s"


def check_alpine_interfaces(text, layout, mode):
    spec = LAYOUTS[layout]
    check_common_file(text)
    stanzas, autos = parse_eni(text)
    names = [s[0] for s in stanzas if s[1] == "inet"]
    assert stanza(stanzas, "lo")[2] == "loopback"
    assert set(autos) == set(names) and len(autos) == len(set(autos))
    assert not set(OS_NAMES.values()) & set(names), "Alpine uses the metadata's names"

    for bond, (members, mac) in spec["bonds"].items():
        st = stanza(stanzas, bond)
        assert options(st, "use") == ["bond"]
        assert option(st, "bond-members").split() == members
        assert option(st, "bond-mode") == MODE_NAMES[mode]
        assert (option(st, "bond-miimon"), option(st, "bond-updelay"),
                option(st, "bond-downdelay")) == ("100", "200", "200")
        assert options(st, "bond-lacp-rate") == (["fast"] if mode == 4 else [])
        assert options(st, "bond-xmit-hash-policy") == (["layer3+4"] if mode in (2, 4) else [])
        assert option(st, "hwaddress") == mac, "ifupdown-ng passes hwaddress to ip as is"
        for member in members:
            mst = stanza(stanzas, member)
            assert mst[2] == "manual" and {k for k, _ in mst[3]} <= {"pre-up"}, \
                "members are plain links (waiting, RA off)"
    if not spec["bonds"]:
        assert not any(k == "use" or k.startswith("bond-") for s in stanzas for k, _ in s[3])

    for dev in spec["manual"]:
        st = stanza(stanzas, dev)
        assert st[2] == "manual" and not options(st, "address")
    for dev in spec["dhcp"]:
        assert stanza(stanzas, dev)[2] == "dhcp"
    check_staggered_members(stanzas, spec, lambda n: n)
    check_router_advertisements_off(stanzas, spec, lambda n: n, names, alpine=True)
    if spec["device"] is None:
        assert not any(k in ("address", "gateway") for s in stanzas for k, _ in s[3])
        assert "ip route" not in text
        return

    st = stanza(stanzas, spec["device"])
    address, _, prefix, gateway = spec["ipv4"]
    expected = [f"{address}/{prefix}"]
    if spec["alias"]:
        expected.append(f"{spec['alias'][0]}/{spec['alias'][2]}")
    assert st[2] == "static"
    assert options(st, "address") == expected, "the private address is a second address"
    assert options(st, "gateway") == [gateway]
    assert not options(st, "netmask"), "ifupdown-ng would apply one netmask to every address"
    device = spec["device"]
    assert options(st, "up") == [f"ip route replace {net} via {via} dev {device}"
                                 for net, via in spec["routes"]]
    assert options(st, "down") == [f"ip route del {net} via {via} dev {device} || true"
                                   for net, via in spec["routes"]]
    v6 = [s for s in stanzas if s[0] == device and s[1] == "inet6"]
    if spec["ipv6"]:
        (st6,) = v6
        assert options(st6, "address") == [f"{spec['ipv6'][0]}/{spec['ipv6'][1]}"]
        assert options(st6, "gateway") == [spec["ipv6"][2]]
    else:
        assert not v6
    assert ":0" not in text


def mactab(files):
    lines = [l for l in files["etc/mactab"].splitlines() if l and not l.startswith("#")]
    return [tuple(l.split()) for l in lines]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("os_name", ALPINE_VERSIONS)
def test_every_layout(tmp_path, os_name, layout):
    doc = load_doc(layout)
    files = render(tmp_path, doc, os_name)
    check_alpine_interfaces(files["etc/network/interfaces"], layout, LAYOUTS[layout]["mode"])
    # every physical NIC is pinned: the metadata's under their names, the spare one after them
    meta = [(i["name"], i["mac"]) for i in doc["network"]["interfaces"]]
    spare_name = f"eth{len(meta)}"
    assert mactab(files) == sorted(meta) + [(spare_name, SPARE_NIC["mac"])]
    check_common_file(files["etc/mactab"])
    assert files["etc/mdev.conf"] == NAMEIF_RULE + "\n"
    assert files.get("etc/modules") == ("bonding\n" if LAYOUTS[layout]["bonds"] else None)
    if LAYOUTS[layout]["dhcp"]:
        assert "etc/resolv.conf" not in files
    else:
        assert [l for l in files["etc/resolv.conf"].splitlines() if not l.startswith("#")] == [
            f"nameserver {r}" for r in RESOLVERS]
    assert "etc/udev/rules.d/70-persistent-net.rules" not in files
    assert "etc/systemd/resolved.conf" not in files
    for rel in ("etc/network/interfaces", "etc/mactab", "etc/hostname", "etc/hosts"):
        assert file_mode(tmp_path, rel) == 0o644


@pytest.mark.parametrize("mode", range(7))
def test_bonding_modes(tmp_path, mode):
    for layout in ("bonded", "two-bonds"):
        root = tmp_path / layout
        root.mkdir()
        files = render(root, load_doc(layout, mode=mode), "alpine 3.20")
        check_alpine_interfaces(files["etc/network/interfaces"], layout, mode)


def test_mdev_conf_is_appended_to_never_replaced(tmp_path):
    (tmp_path / "etc").mkdir()
    stock = ("# mdev.conf\nnull\troot:root 0666\t@chmod 666 $MDEV\n"
             "tun[0-9]*\troot:root 0600 =net/\n")
    (tmp_path / "etc/mdev.conf").write_text(stock)
    (tmp_path / "etc/mdev.conf").chmod(0o640)
    first = render(tmp_path, load_doc("bonded"), "alpine 3.20")
    assert first["etc/mdev.conf"] == stock + NAMEIF_RULE + "\n"
    assert file_mode(tmp_path, "etc/mdev.conf") == 0o640, "an appended file keeps its mode"
    second = render(tmp_path, load_doc("bonded"), "alpine 3.20")
    assert second == first, "a second run adds nothing"


def test_names_come_from_the_metadata_and_are_pinned(tmp_path):
    """The provisioning environment says enp65s0f0; Alpine will call the NIC eth0."""
    doc = load_doc("two-bonds")
    files = render(tmp_path, doc, "alpine 3.18")
    assert dict(mactab(files)) == {"eth0": MACS["eth0"], "eth1": MACS["eth1"],
                                   "eth2": MACS["eth2"], "eth3": MACS["eth3"],
                                   "eth4": SPARE_NIC["mac"]}
    assert "enp65s0f0" not in files["etc/network/interfaces"]


def test_spare_nics_are_named_after_the_highest_metadata_name(tmp_path):
    doc = load_doc("bonded")
    nics = nic_list(doc) + [{"name": "eno2", "mac": "0c:c4:7a:3e:51:98", "driver": "igb"}]
    doc["network"]["interfaces"][1]["name"] = "eth7"
    files = render(tmp_path, doc, "alpine 3.20", nics=nics)
    assert mactab(files) == [("eth0", MACS["eth0"]), ("eth7", MACS["eth1"]),
                             ("eth8", "0c:c4:7a:3e:51:98"), ("eth9", SPARE_NIC["mac"])]


def test_unknown_version_uses_the_newest_rule_and_warns(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        files = render(tmp_path, load_doc("bonded"), "alpine edge")
    assert any("no rule for this version" in r.getMessage() for r in caplog.records)
    check_alpine_interfaces(files["etc/network/interfaces"], "bonded", 4)


def test_only_eni_is_accepted(tmp_path):
    from packetnetworking.errors import UnsupportedOS

    with pytest.raises(UnsupportedOS, match="--renderer netplan is not available"):
        render(tmp_path, load_doc("bonded"), "alpine 3.20", renderer="netplan")


def test_header_and_bond_keywords_are_ifupdown_ng(tmp_path):
    text = render(tmp_path, load_doc("bonded"), "alpine 3.20")["etc/network/interfaces"]
    assert not re.search(r"^\s*(bond-slaves|bond-master|netmask)\b", text, re.M)
    assert "hwaddress ether" not in text
