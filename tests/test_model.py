"""The network model: which address goes where, bonds, MAC matching, the target OS."""
import logging

import pytest

from support.helpers import make_metadata
from packetnetworking import metadata
from packetnetworking.errors import EXIT_NIC, EXIT_UNSUPPORTED_OS, MetadataError, NICError, \
    UnsupportedOS
from packetnetworking.matching import build_model
from packetnetworking.operating_system import parse_os
from packetnetworking.nics import NIC


def nics_for(doc, names=None):
    ifaces = doc["network"]["interfaces"]
    names = names or [f"enp1s0f{i}" for i in range(len(ifaces))]
    return [NIC(name=n, mac=metadata.normalize_mac(i["mac"]), driver="i40e",
                logical_name=f"eth{k}") for k, (n, i) in enumerate(zip(names, ifaces))]


def model_for(doc, nics=None, os_option="centos 7", resolvers=("192.0.2.53",)):
    meta = metadata.parse(doc)
    return build_model(meta, nics if nics is not None else nics_for(doc),
                       parse_os(os_option, meta), resolvers)


def roles(net):
    """``[(device, role)]`` as the model decides them: NICs in metadata order, then bonds."""
    return [(d.name, d.role) for d in net.devices]


def address(family, addr, cidr, gateway, public=True, management=True, enabled=True):
    return {"address_family": family, "address": addr, "cidr": cidr, "gateway": gateway,
            "public": public, "management": management, "enabled": enabled}


# --- the target OS -------------------------------------------------------------------
@pytest.mark.parametrize("option, distro, version, major", [
    ("centos 7", "centos", "7", 7),
    ("CentOS 7", "centos", "7", 7),
    ("RHEL 9.3", "rhel", "9.3", 9),
    ("alma 9.3", "almalinux", "9.3", 9),
    ("Rocky 8", "rocky", "8", 8),
    ("centos stream-9", "centos", "stream-9", 9),
    ("  rocky   8  ", "rocky", "8", 8),
])
def test_os_option_is_lower_cased_and_keeps_the_original(option, distro, version, major):
    meta = metadata.parse(make_metadata(operating_system={"distro": "ubuntu", "version": "22.04"}))
    os_info = parse_os(option, meta)
    assert (os_info.distro, os_info.version, os_info.major) == (distro, version, major)
    assert (os_info.orig_distro, os_info.orig_version) == tuple(option.split())


def test_os_version_tuple():
    meta = metadata.parse(make_metadata())
    assert parse_os("rhel 9.3", meta).version_tuple == (9, 3)
    assert parse_os("ubuntu 22.04", meta).version_tuple == (22, 4)
    assert parse_os("debian sid", meta).version_tuple == ()
    assert parse_os("debian sid", meta).major is None
    assert parse_os("centos stream-9", meta).version_tuple == (9,)
    assert parse_os("ubuntu 22.04.3", meta).version_tuple == (22, 4, 3)
    assert parse_os("x 1..2", meta).version_tuple == (1,)
    assert parse_os("x 8.", meta).version_tuple == (8,)


@pytest.mark.parametrize("option", ["n/a n/a", "N/A 7", None, "", "   ", "n/a"])
def test_n_a_or_no_option_uses_the_metadata_os(option):
    meta = metadata.parse(make_metadata(operating_system={"distro": "Rocky", "version": "8"}))
    os_info = parse_os(option, meta)
    assert (os_info.distro, os_info.version, os_info.orig_distro) == ("rocky", "8", "Rocky")


@pytest.mark.parametrize("option", ["centos n/a", "centos", "CentOS N/A"])
def test_a_distro_without_version_is_kept(option):
    meta = metadata.parse(make_metadata(operating_system={"distro": "Rocky", "version": "8"}))
    os_info = parse_os(option, meta)
    assert (os_info.distro, os_info.version) == ("centos", "")


def test_a_distro_without_version_takes_the_metadata_version_of_the_same_distro():
    meta = metadata.parse(make_metadata(operating_system={"distro": "centos", "version": "8"}))
    assert str(parse_os("CentOS n/a", meta)) == "centos 8"


@pytest.mark.parametrize("option", ["centos 7 x86_64", "Red Hat 9"])
def test_os_option_has_at_most_two_words(option):
    meta = metadata.parse(make_metadata())
    with pytest.raises(UnsupportedOS) as info:
        parse_os(option, meta)
    assert info.value.exit_code == EXIT_UNSUPPORTED_OS
    assert "more than two words" in info.value.one_line()


def test_no_os_anywhere_is_exit_20():
    doc = make_metadata()
    del doc["operating_system"]
    with pytest.raises(UnsupportedOS, match="no operating system"):
        parse_os("n/a n/a", metadata.parse(doc))


# --- addresses -----------------------------------------------------------------------
def test_default_server_public_v4_primary_v6_and_private_alias_with_routes():
    net = model_for(make_metadata())
    assert net.bonded and not net.dhcp and net.device == "bond0"
    assert (net.ipv4.cidr, str(net.ipv4.gateway)) == ("198.51.100.23/31", "198.51.100.22")
    assert (net.ipv6.cidr, str(net.ipv6.gateway)) == ("2001:db8:10:2a00::3/127",
                                                      "2001:db8:10:2a00::2")
    assert net.ipv4_alias.cidr == "10.66.4.5/31"
    assert net.ipv4_public is net.ipv4 and net.ipv4_private is net.ipv4_alias
    assert [(r.cidr, r.network, r.netmask, r.prefix, r.gateway) for r in net.private_routes] == [
        ("10.0.0.0/8", "10.0.0.0", "255.0.0.0", 8, "10.66.4.4")]
    assert [a.cidr for a in net.static_addresses] == [
        "198.51.100.23/31", "2001:db8:10:2a00::3/127", "10.66.4.5/31"]
    assert net.resolvers == ["192.0.2.53"]
    assert (net.hostname, net.short_hostname) == ("node-01.example.net", "node-01")


def test_first_of_each_kind_wins_and_disabled_or_elastic_addresses_are_not_configured():
    doc = make_metadata()
    doc["network"]["addresses"] = [
        address(4, "203.0.113.9", 32, "203.0.113.9", management=False),      # elastic
        address(4, "198.51.100.41", 31, "198.51.100.40", enabled=False),      # disabled
        address(4, "198.51.100.23", 31, "198.51.100.22"),                     # primary
        address(4, "198.51.100.51", 31, "198.51.100.50"),                     # second public
        address(6, "2001:db8::3", 127, "2001:db8::2", enabled=False),
        address(6, "2001:db8:1::5", 127, "2001:db8:1::4"),
        address(4, "10.66.4.5", 31, "10.66.4.4", public=False),
        address(4, "10.77.4.5", 31, "10.77.4.4", public=False),
    ]
    net = model_for(doc)
    assert net.ipv4.address == "198.51.100.23"
    assert net.ipv6.address == "2001:db8:1::5"
    assert net.ipv4_alias.address == "10.66.4.5"
    assert [r.gateway for r in net.private_routes] == ["10.66.4.4"]
    everything = " ".join(a.cidr for a in net.static_addresses)
    for absent in ("203.0.113.9", "198.51.100.41", "198.51.100.51", "2001:db8::3", "10.77"):
        assert absent not in everything


def test_private_only_server_private_v4_is_primary_with_default_route_and_routes():
    doc = make_metadata(private_subnets=["10.0.0.0/8", "100.64.0.0/10"])
    doc["network"]["addresses"] = [address(4, "10.66.4.5", 31, "10.66.4.4", public=False)]
    net = model_for(doc)
    assert net.ipv4.address == "10.66.4.5" and str(net.ipv4.gateway) == "10.66.4.4"
    assert net.ipv4_alias is None and net.ipv6 is None
    assert [(r.cidr, r.gateway) for r in net.private_routes] == [
        ("10.0.0.0/8", "10.66.4.4"), ("100.64.0.0/10", "10.66.4.4")]
    assert [a.cidr for a in net.static_addresses] == ["10.66.4.5/31"]


def test_ipv6_only_public_with_private_v4_keeps_private_as_primary_v4():
    doc = make_metadata()
    del doc["network"]["addresses"][0]
    net = model_for(doc)
    assert net.ipv4.address == "10.66.4.5" and net.ipv4_alias is None
    assert net.ipv6.address == "2001:db8:10:2a00::3"


def test_no_usable_address_without_dhcp_is_bad_metadata():
    doc = make_metadata()
    doc["network"]["addresses"] = []
    with pytest.raises(MetadataError) as info:
        model_for(doc)
    assert "no enabled management address" in info.value.one_line()


def test_only_elastic_addresses_is_bad_metadata():
    doc = make_metadata()
    doc["network"]["addresses"] = [address(4, "203.0.113.9", 32, "203.0.113.9",
                                           management=False)]
    with pytest.raises(MetadataError):
        model_for(doc)


def test_primary_address_without_gateway_is_bad_metadata():
    doc = make_metadata()
    del doc["network"]["addresses"][0]["gateway"]
    with pytest.raises(MetadataError) as info:
        model_for(doc)
    assert "198.51.100.23/31 carries a default route but has no gateway" in info.value.one_line()


def test_dhcp_interface_makes_the_server_use_dhcp_and_needs_no_address():
    doc = make_metadata()
    doc["network"]["addresses"] = []
    doc["network"]["interfaces"][0]["dhcp"] = True
    net = model_for(doc)
    assert net.dhcp and net.bonded  # two facts: DHCP on the bond
    assert roles(net) == [("enp1s0f0", "port"), ("enp1s0f1", "port"), ("bond0", "dhcp")]


def test_private_subnets_default_when_absent():
    doc = make_metadata()
    del doc["private_subnets"]
    assert [r.cidr for r in model_for(doc).private_routes] == ["10.0.0.0/8"]


# --- bonds ---------------------------------------------------------------------------
def four_nic_doc(mode=4):
    doc = make_metadata()
    doc["network"]["bonding"]["mode"] = mode
    doc["network"]["interfaces"] = [
        {"name": "eth0", "mac": "0c:c4:7a:aa:00:10", "bond": "bond0"},
        {"name": "eth1", "mac": "0c:c4:7a:aa:00:11", "bond": "bond1"},
        {"name": "eth2", "mac": "0c:c4:7a:aa:00:12", "bond": "bond0"},
        {"name": "eth3", "mac": "0c:c4:7a:aa:00:13", "bond": "bond1"},
    ]
    return doc


def test_interleaved_bonds_members_macs_and_primary():
    net = model_for(four_nic_doc())
    assert [b.name for b in net.bonds] == ["bond0", "bond1"]
    bond0, bond1 = net.bonds
    assert [i.meta_name for i in bond0.members] == ["eth0", "eth2"]
    assert [i.name for i in bond0.members] == ["enp1s0f0", "enp1s0f2"]
    assert [i.meta_name for i in bond1.members] == ["eth1", "eth3"]
    assert bond0.mac == "0c:c4:7a:aa:00:10"       # network.bonding.mac
    assert bond1.mac == "0c:c4:7a:aa:00:11"       # its first member's
    assert net.primary_bond is not None and net.primary_bond.name == "bond0"
    assert [b.name for b in net.secondary_bonds] == ["bond1"]
    assert net.device == "bond0" and net.device_mac == "0c:c4:7a:aa:00:10"
    assert [i.name for i in net.physical_interfaces] == [
        "enp1s0f0", "enp1s0f1", "enp1s0f2", "enp1s0f3"]


def test_bond10_sorts_after_bond2():
    doc = four_nic_doc()
    doc["network"]["interfaces"][1]["bond"] = "bond10"
    doc["network"]["interfaces"][3]["bond"] = "bond2"
    assert [b.name for b in model_for(doc).bonds] == ["bond0", "bond2", "bond10"]


def test_interfaces_without_bond_key_go_to_bond0():
    doc = make_metadata()
    for iface in doc["network"]["interfaces"]:
        del iface["bond"]
    net = model_for(doc)
    assert [b.name for b in net.bonds] == ["bond0"]
    assert len(net.bonds[0].members) == 2


def hybrid_doc(null_key="null"):
    """eth0 and eth1 in bond0; eth2 and eth3 with ``bond`` null (or missing)."""
    doc = four_nic_doc()
    for iface in doc["network"]["interfaces"]:
        iface["bond"] = "bond0"
    for iface in doc["network"]["interfaces"][2:]:
        if null_key == "null":
            iface["bond"] = None
        else:
            del iface["bond"]
    return doc


@pytest.mark.parametrize("null_key", ["null", "missing"])
def test_hybrid_nics_without_a_bond_are_in_no_bond_and_left_alone(null_key):
    net = model_for(hybrid_doc(null_key))
    assert [(b.name, [m.name for m in b.members]) for b in net.bonds] == [
        ("bond0", ["enp1s0f0", "enp1s0f1"])]
    assert [net.bond_of(i) for i in net.interfaces] == ["bond0", "bond0", None, None]
    assert roles(net) == [("enp1s0f0", "port"), ("enp1s0f1", "port"),
                          ("enp1s0f2", "alone"), ("enp1s0f3", "alone"),
                          ("bond0", "addresses")]
    assert [d.master for d in net.devices] == ["bond0", "bond0", None, None, None]
    assert net.device == "bond0" and net.role_of("enp1s0f2") == "alone"


def test_hybrid_nic_asking_dhcp_asks_it_outside_the_bond():
    doc = hybrid_doc()
    doc["network"]["addresses"] = []
    for iface in doc["network"]["interfaces"][:3]:
        iface["dhcp"] = True
    net = model_for(doc)
    assert roles(net) == [("enp1s0f0", "port"), ("enp1s0f1", "port"),
                          ("enp1s0f2", "dhcp"), ("enp1s0f3", "alone"), ("bond0", "dhcp")]


def test_no_nic_naming_a_bond_puts_every_nic_in_bond0():
    doc = hybrid_doc()
    for iface in doc["network"]["interfaces"]:
        iface["bond"] = None
    net = model_for(doc)
    assert [(b.name, len(b.members)) for b in net.bonds] == [("bond0", 4)]
    assert [r for _, r in roles(net)] == ["port"] * 4 + ["addresses"]


def test_only_named_bonds_exist_and_the_first_by_name_is_primary_without_bond0():
    doc = hybrid_doc()
    doc["network"]["interfaces"][0]["bond"] = "bond3"
    doc["network"]["interfaces"][1]["bond"] = "bond2"
    net = model_for(doc)
    assert roles(net) == [("enp1s0f0", "port"), ("enp1s0f1", "port"),
                          ("enp1s0f2", "alone"), ("enp1s0f3", "alone"),
                          ("bond2", "addresses"), ("bond3", "bare")]
    assert net.primary_bond.mac == "0c:c4:7a:aa:00:10"  # network.bonding.mac


def test_two_bonds_roles_primary_carries_the_addresses_the_other_is_bare():
    net = model_for(four_nic_doc())
    assert roles(net) == [("enp1s0f0", "port"), ("enp1s0f1", "port"), ("enp1s0f2", "port"),
                          ("enp1s0f3", "port"), ("bond0", "addresses"), ("bond1", "bare")]
    assert [d.bond.name for d in net.devices] == ["bond0", "bond1", "bond0", "bond1",
                                                  "bond0", "bond1"]


def test_individual_dhcp_first_nic_and_every_nic_asking_get_a_lease():
    doc = four_nic_doc()
    doc["network"]["bonding"]["link_aggregation"] = "individual"
    doc["network"]["addresses"] = []
    doc["network"]["interfaces"][2]["dhcp"] = True
    net = model_for(doc)
    assert net.dhcp and not net.bonded
    assert roles(net) == [("enp1s0f0", "dhcp"), ("enp1s0f1", "bare"), ("enp1s0f2", "dhcp"),
                          ("enp1s0f3", "bare")]


def test_dhcp_on_a_second_bond_when_one_of_its_members_asks():
    doc = four_nic_doc()
    doc["network"]["addresses"] = []
    doc["network"]["interfaces"][1]["dhcp"] = True   # bond1's
    net = model_for(doc)
    assert [(d.name, d.role) for d in net.bond_devices] == [("bond0", "dhcp"),
                                                           ("bond1", "dhcp")]


def test_a_hybrid_nic_named_like_a_bond_is_refused():
    doc = hybrid_doc()
    nics = nics_for(doc, ["enp1s0f0", "enp1s0f1", "bond0", "enp1s0f3"])
    with pytest.raises(NICError, match="the NIC named bond0 has the name of a bond"):
        model_for(doc, nics)


def test_a_nic_named_like_an_unused_bond_name_is_not_refused():
    """In a hybrid document, bond0 is the only bond: a spare NIC may be called bond1."""
    doc = hybrid_doc()
    nics = nics_for(doc, ["enp1s0f0", "enp1s0f1", "bond1", "enp1s0f3"])
    assert model_for(doc, nics).role_of("bond1") == "alone"


@pytest.mark.parametrize("mode, name, options", [
    (4, "802.3ad", "mode=802.3ad miimon=100 updelay=200 downdelay=200 "
                   "xmit_hash_policy=layer3+4 lacp_rate=fast"),
    (5, "balance-tlb", "mode=balance-tlb miimon=100 updelay=200 downdelay=200"),
    (1, "active-backup", "mode=active-backup miimon=100 updelay=200 downdelay=200"),
    (0, "balance-rr", "mode=balance-rr miimon=100 updelay=200 downdelay=200"),
    (2, "balance-xor", "mode=balance-xor miimon=100 updelay=200 downdelay=200 "
                       "xmit_hash_policy=layer3+4"),
    (3, "broadcast", "mode=broadcast miimon=100 updelay=200 downdelay=200"),
    (6, "balance-alb", "mode=balance-alb miimon=100 updelay=200 downdelay=200"),
])
def test_bond_options_follow_the_metadata_mode(mode, name, options):
    bond = model_for(four_nic_doc(mode)).bonds[0]
    assert (bond.mode, bond.mode_name, bond.options_string) == (mode, name, options)
    assert (bond.lacp_rate is not None) == (mode == 4)
    assert (bond.xmit_hash_policy is not None) == (mode in (2, 4))


@pytest.mark.parametrize("link", ["mlag_ha", None])
def test_mlag_ha_and_null_are_bonded(link):
    doc = make_metadata()
    doc["network"]["bonding"]["link_aggregation"] = link
    net = model_for(doc)
    assert net.bonded and net.device == "bond0"


def test_individual_first_nic_carries_the_addresses_and_no_bond():
    doc = make_metadata()
    doc["network"]["bonding"]["link_aggregation"] = "individual"
    net = model_for(doc)
    assert not net.bonded and net.bonds == [] and net.primary_bond is None
    assert net.primary_bond_name is None
    assert roles(net) == [("enp1s0f0", "addresses"), ("enp1s0f1", "bare")]
    assert net.device == "enp1s0f0" and net.device_mac == "0c:c4:7a:aa:00:10"


# --- matching metadata interfaces to NICs ------------------------------------------------
def test_matching_is_by_mac_case_insensitively_and_uses_the_nic_name():
    doc = make_metadata()
    doc["network"]["interfaces"][1]["mac"] = "0C:C4:7A:AA:00:11"
    nics = [NIC(name="eno2", mac="0c:c4:7a:aa:00:11", driver="ixgbe"),
            NIC(name="eno1", mac="0c:c4:7a:aa:00:10", driver="ixgbe")]
    net = model_for(doc, nics)
    assert [(i.meta_name, i.name, i.mac, i.driver) for i in net.interfaces] == [
        ("eth0", "eno1", "0c:c4:7a:aa:00:10", "ixgbe"),
        ("eth1", "eno2", "0c:c4:7a:aa:00:11", "ixgbe")]


def test_extra_nics_are_kept_in_net_nics_only():
    doc = make_metadata()
    nics = nics_for(doc) + [NIC(name="enx0", mac="02:00:00:00:00:99", driver="cdc_ether")]
    net = model_for(doc, nics)
    assert len(net.interfaces) == 2 and len(net.nics) == 3


def test_unmatched_metadata_interface_is_left_out_with_a_warning(caplog):
    doc = make_metadata()
    nics = nics_for(doc)[:1]
    with caplog.at_level(logging.WARNING):
        net = model_for(doc, nics)
    assert [i.meta_name for i in net.interfaces] == ["eth0"]
    assert [m.name for m in net.bonds[0].members] == ["enp1s0f0"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["metadata interface eth1 (0c:c4:7a:aa:00:11) matches no NIC on this "
                        "machine: left out"]


def test_no_match_is_exit_50_listing_both_mac_sets_and_nothing_else(caplog):
    doc = make_metadata()
    nics = [NIC(name="eno1", mac="02:00:00:00:00:01"), NIC(name="eno2", mac="02:00:00:00:00:02")]
    with caplog.at_level(logging.WARNING):
        with pytest.raises(NICError) as info:
            model_for(doc, nics)
    text = info.value.one_line()
    assert info.value.exit_code == EXIT_NIC
    assert "metadata MACs 0c:c4:7a:aa:00:10, 0c:c4:7a:aa:00:11" in text
    assert "NIC MACs 02:00:00:00:00:01, 02:00:00:00:00:02" in text
    # the error is the one line an operator sees: no warning lines before it
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_no_nics_at_all_is_exit_50():
    with pytest.raises(NICError, match="NIC MACs none"):
        model_for(make_metadata(), [])


def test_two_nics_with_the_mac_a_metadata_interface_needs_is_exit_50():
    doc = make_metadata()
    nics = [NIC(name="eno1", mac="0c:c4:7a:aa:00:10"), NIC(name="eno2", mac="0c:c4:7a:aa:00:10")]
    with pytest.raises(NICError) as info:
        model_for(doc, nics)
    assert "matches several NICs (eno1, eno2)" in info.value.one_line()
    assert "permanent" in info.value.one_line()


def test_two_matched_nics_with_the_same_name_is_exit_50():
    doc = make_metadata()
    nics = [NIC(name="eno1", mac="0c:c4:7a:aa:00:10"), NIC(name="eno1", mac="0c:c4:7a:aa:00:11")]
    with pytest.raises(NICError, match="both named eno1"):
        model_for(doc, nics)


def test_interfaces_are_editable_by_hooks():
    net = model_for(make_metadata())
    net.interfaces[0].name = "em1"
    assert net.bonds[0].members[0].name == "em1"
    del net.interfaces[1:]
    assert len(net.bonds[0].members) == 1
