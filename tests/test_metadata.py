"""The metadata document is validated once; a bad field is named in the error."""
import ipaddress
import json

import pytest

from support.helpers import make_metadata
from packetnetworking import document, metadata
from packetnetworking.errors import EXIT_BAD_METADATA, MetadataError
from packetnetworking.names import check_hostname, check_ifname, normalize_mac


def parse_error(doc):
    with pytest.raises(MetadataError) as info:
        metadata.parse(doc)
    assert info.value.exit_code == EXIT_BAD_METADATA
    return info.value.one_line()


def test_default_document_parses_into_validated_values():
    meta = metadata.parse(make_metadata())
    assert meta.hostname == "node-01.example.net"
    assert meta.plan == "c3.small.x86"
    assert (meta.distro, meta.version) == ("centos", "7")
    assert meta.link_aggregation == "bonded"
    assert meta.bonding_mode == 4
    assert meta.bond_mac == "0c:c4:7a:aa:00:10"
    assert [(i.name, i.mac, i.bond) for i in meta.interfaces] == [
        ("eth0", "0c:c4:7a:aa:00:10", "bond0"), ("eth1", "0c:c4:7a:aa:00:11", "bond0")]
    v4, v6, private = meta.addresses
    assert (v4.address, v4.prefix, v4.netmask, str(v4.gateway), v4.family, v4.public) == (
        "198.51.100.23", 31, "255.255.255.254", "198.51.100.22", 4, True)
    assert (v6.cidr, str(v6.gateway), v6.family) == ("2001:db8:10:2a00::3/127",
                                                    "2001:db8:10:2a00::2", 6)
    assert (private.cidr, private.public) == ("10.66.4.5/31", False)
    assert meta.private_subnets == (ipaddress.IPv4Network("10.0.0.0/8"),)


def test_unknown_fields_are_ignored_everywhere():
    doc = make_metadata(iqn="iqn.2024-01.net.example:x", tags=["a"], specs={"cpus": []},
                        bgp_neighbors=[{"x": 1}], customdata={}, new_field_2030=True)
    doc["network"]["metal_gateways"] = [{"vlan": 1000}]
    doc["network"]["interfaces"][0]["switch_short_id"] = "abc"
    doc["network"]["addresses"][0]["parent_block"] = {"network": "x", "cidr": "not-checked"}
    doc["network"]["addresses"][0]["created_at"] = "2024-05-22T17:59:09Z"
    doc["network"]["bonding"]["whatever"] = [1, 2]
    doc["operating_system"]["license_activation"] = {"state": "unlicensed"}
    assert metadata.parse(doc).hostname == "node-01.example.net"


def test_id_is_not_validated_and_plan_is_lower_cased():
    meta = metadata.parse(make_metadata(id="X", plan=" C3.Medium.X86 "))
    assert meta.plan == "c3.medium.x86"


def test_optional_top_level_fields_may_be_absent():
    doc = make_metadata()
    for key in ("plan", "operating_system", "private_subnets", "id"):
        del doc[key]
    meta = metadata.parse(doc)
    assert meta.plan == ""
    assert meta.distro is None and meta.version is None
    assert [str(n) for n in meta.private_subnets] == ["10.0.0.0/8"]


def test_numeric_os_version_becomes_a_string():
    doc = make_metadata(operating_system={"distro": "rocky", "version": 8})
    assert metadata.parse(doc).version == "8"


@pytest.mark.parametrize("value, expected", [
    ("B8:CE:F6:10:20:30", "b8:ce:f6:10:20:30"),
    ("b8-ce-f6-10-20-30", "b8:ce:f6:10:20:30"),
    ("b8cef6102030", "b8:ce:f6:10:20:30"),
    ("b8ce.f610.2030", "b8:ce:f6:10:20:30"),
    (" b8:ce:f6:10:20:30\n", "b8:ce:f6:10:20:30"),
    ("b8:ce:f6:10:20", None),
    ("b8:ce-f6:10:20:30", None),
    ("g8:ce:f6:10:20:30", None),
    ("b8:ce:f6:10:20:30:40", None),
    ("b8:ce:f6:10:20:30\nX", None),
    ("B8CE.F610.2030", "b8:ce:f6:10:20:30"),
    ("b8ce.f610.20300", None),
    ("b8ce:f610:2030", None),
    ("b8:cef6:10:20:30", None),
    ("b8:ce:f6:10:20:3", None),
    ("b8cef610203", None),
    ("b8\u0441ef6102030", None),
    (None, None),
    (1234, None),
])
def test_normalize_mac(value, expected):
    assert normalize_mac(value) == expected


def test_macs_are_normalised_in_the_model():
    doc = make_metadata()
    doc["network"]["interfaces"][0]["mac"] = "0C-C4-7A-AA-00-10"
    doc["network"]["bonding"]["mac"] = "0CC4.7AAA.0010"
    meta = metadata.parse(doc)
    assert meta.interfaces[0].mac == "0c:c4:7a:aa:00:10"
    assert meta.bond_mac == "0c:c4:7a:aa:00:10"


@pytest.mark.parametrize("name, ok", [
    ("eth0", True), ("enp65s0f0", True), ("bond0.100", True), ("a" * 15, True),
    ("a" * 16, False), ("", False), ("eth0/../x", False), ("../etc", False), ("eth 0", False),
    ("eth0\n", False), ("bond0\n", False), ("eth\"0", False), ("eth0:1", False),
    ("$(reboot)", False), ("eth_0-1.5", True), ("0eth", True), ("eth\u00e9", False),
    ("lo", False), ("all", False), ("default", False), ("bonding_masters", False),
    ("lo0", True),
    ("x=y", False), ("-eth0", False), ("a..b", False), (None, False), (5, False),
])
def test_check_ifname(name, ok):
    assert check_ifname(name) is ok


@pytest.mark.parametrize("name, ok", [
    ("node-01", True), ("node-01.example.net", True), ("A1", True), ("x" * 63, True),
    ("x" * 64, False), (".".join(["a" * 63] * 4), False), ("-node", False), ("node-", False),
    ("node_01", True), ("node 01", False), ("node;reboot", False), ("", False),
    ("node..net", False), ("node.example.net.", False), ("nöde", False), (None, False),
    ("node\n", False), ("node.example.net\n", False), ("node\nnameserver 6.6.6.6", False),
    (".".join(["a" * 63] * 3 + ["a" * 61]), True), (".".join(["a" * 63] * 3 + ["a" * 62]), False),
    ("1-2", True), ("a-", False), ("a--b", True),
])
def test_check_hostname(name, ok):
    assert check_hostname(name) is ok


# --- link aggregation and bonding -------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("bonded", "bonded"), ("mlag_ha", "mlag_ha"), ("individual", "individual"),
    (None, "bonded")])
def test_link_aggregation_values(value, expected):
    doc = make_metadata()
    doc["network"]["bonding"]["link_aggregation"] = value
    assert metadata.parse(doc).link_aggregation == expected


def test_missing_bonding_section_means_bonded_lacp():
    doc = make_metadata()
    del doc["network"]["bonding"]
    meta = metadata.parse(doc)
    assert (meta.link_aggregation, meta.bonding_mode, meta.bond_mac) == ("bonded", 4, None)


@pytest.mark.parametrize("mode", range(7))
def test_bonding_modes_0_to_6_accepted(mode):
    doc = make_metadata()
    doc["network"]["bonding"]["mode"] = mode
    assert metadata.parse(doc).bonding_mode == mode


# --- bad input: exit 40, the field named -------------------------------------------
def _set(doc, path, value):
    """Set a dotted/indexed path like network.addresses.2.gateway (value ... = delete)."""
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value


def test_gateway_outside_the_network_is_kept_on_link_with_one_warning(caplog):
    """Hegel's mock serves 139.175.86.114/31 via 139.175.86.113, below the /31: the
    original tool configured it, so it is kept and its routes are written on-link."""
    doc = make_metadata()
    _set(doc, "network.addresses.0.address", "139.175.86.114")
    _set(doc, "network.addresses.0.gateway", "139.175.86.113")
    _set(doc, "network.addresses.1.gateway", "fe80::1")
    _set(doc, "network.addresses.2.address", "10.99.1.2")
    _set(doc, "network.addresses.2.gateway", "10.0.0.9")
    with caplog.at_level("WARNING"):
        v4, v6, private = metadata.parse(doc).addresses
    assert (str(v4.gateway), v4.onlink) == ("139.175.86.113", True)
    assert (str(v6.gateway), v6.onlink) == ("fe80::1", True)
    assert (str(private.gateway), private.onlink) == ("10.0.0.9", True)
    assert [r.getMessage() for r in caplog.records] == [
        "network.addresses[0].gateway: 139.175.86.113 is not in 139.175.86.114/31: "
        "routes via it are written on-link",
        "network.addresses[1].gateway: fe80::1 is not in 2001:db8:10:2a00::3/127: "
        "routes via it are written on-link",
        "network.addresses[2].gateway: 10.0.0.9 is not in 10.99.1.2/31: "
        "routes via it are written on-link"]


@pytest.mark.parametrize("entry", [
    # a private IPv6 is never configured
    {"address_family": 6, "address": "fd00::5", "cidr": 127, "gateway": "fd00::9999"},
    # a second management public IPv4: only the first is configured
    {"address_family": 4, "address": "198.51.100.41", "cidr": 31, "gateway": "198.51.100.1",
     "public": True},
    # not a management address (OSIE's CI generator lists one)
    {"address_family": 4, "address": "203.0.113.8", "cidr": 31, "gateway": "203.0.113.1",
     "public": True, "management": False},
], ids=["private-v6", "second-public-v4", "not-management"])
def test_gateway_outside_the_network_of_an_address_not_configured_says_nothing(caplog, entry):
    """Only routes via the configured addresses' gateways are written: another address's
    gateway outside its network is neither refused nor warned about."""
    doc = make_metadata()
    doc["network"]["addresses"].append(entry)
    with caplog.at_level("WARNING"):
        addresses = metadata.parse(doc).addresses
    assert addresses[3].onlink and not caplog.records, [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("index, gateway", [(0, "0.0.0.0"), (0, "224.0.0.1"),
                                            (0, "255.255.255.255"), (1, "::"), (1, "ff02::1")])
def test_gateway_the_kernel_refuses_is_named(index, gateway):
    doc = make_metadata()
    _set(doc, f"network.addresses.{index}.gateway", gateway)
    assert parse_error(doc).startswith(
        f"network.addresses[{index}].gateway: {gateway} is not a usable gateway")


def test_gateway_inside_the_network_is_not_on_link(caplog):
    with caplog.at_level("WARNING"):
        addresses = metadata.parse(make_metadata()).addresses
    assert [a.onlink for a in addresses] == [False, False, False] and not caplog.records


BAD_FIELDS = [
    # (path, value (... = delete), text the one-line message must contain)
    ("hostname", ..., "hostname: missing"),
    ("hostname", 42, "hostname: expected a string, got a number"),
    ("hostname", "bad host", "hostname: 'bad host' is not a valid host name"),
    ("hostname", "a" * 300, "hostname:"),
    ("hostname", "x;reboot", "hostname: 'x;reboot'"),
    ("network", ..., "network: missing"),
    ("network", [], "network: expected an object, got a list"),
    ("network.interfaces", ..., "network.interfaces: missing"),
    ("network.interfaces", [], "network.interfaces: empty"),
    ("network.interfaces", {"eth0": {}}, "network.interfaces: expected a list, got an object"),
    ("network.interfaces.1", "eth1", "network.interfaces[1]: expected an object, got a string"),
    ("network.interfaces.1.name", ..., "network.interfaces[1].name: missing"),
    ("network.interfaces.1.name", "../../etc/passwd",
     "network.interfaces[1].name: '../../etc/passwd' is not a safe interface name"),
    ("network.interfaces.1.name", "eth1\nONBOOT=no", "network.interfaces[1].name:"),
    ("network.interfaces.1.name", "eth0", "network.interfaces[1].name: eth0 is also"),
    ("network.interfaces.1.mac", "zz:zz", "network.interfaces[1].mac: 'zz:zz' is not a MAC"),
    ("network.interfaces.1.mac", "0C:C4:7A:AA:00:10", "network.interfaces[1].mac: "
                                                      "0c:c4:7a:aa:00:10 is also"),
    ("network.interfaces.1.mac", None, "network.interfaces[1].mac: missing"),
    ("network.interfaces.1.bond", "bond0 mode=0", "network.interfaces[1].bond:"),
    ("network.interfaces.1.bond", "eth0", "eth0 is both an interface and a bond"),
    ("network.interfaces.1.dhcp", "yes", "network.interfaces[1].dhcp: expected true or false"),
    ("network.addresses", "10.0.0.1", "network.addresses: expected a list, got a string"),
    ("network.addresses.0.address_family", 5, "network.addresses[0].address_family: 5 is not"),
    ("network.addresses.0.address_family", "4", "network.addresses[0].address_family: expected"),
    ("network.addresses.0.address_family", True, "network.addresses[0].address_family: expected"),
    ("network.addresses.0.address", "198.51.100.300",
     "network.addresses[0].address: '198.51.100.300' is not an IPv4 address"),
    ("network.addresses.0.address", "2001:db8::1",
     "network.addresses[0].address: '2001:db8::1' is not an IPv4 address"),
    ("network.addresses.1.address", "198.51.100.1", "network.addresses[1].address:"),
    ("network.addresses.0.address", ..., "network.addresses[0].address: missing"),
    ("network.addresses.0.cidr", 33, "network.addresses[0].cidr: 33 is not a prefix length"),
    ("network.addresses.0.cidr", "31", "network.addresses[0].cidr: expected an integer"),
    ("network.addresses.0.cidr", 31.0, "network.addresses[0].cidr: expected an integer, "
                                       "got the number 31.0"),
    ("network.addresses.1.cidr", 129, "network.addresses[1].cidr: 129 is not a prefix length"),
    ("network.addresses.0.gateway", "gw", "network.addresses[0].gateway: 'gw' is not an IPv4"),
    ("network.addresses.1.address", "2001:db8:10:2a00::3%x\nIPADDR=6.6.6.6",
     "network.addresses[1].address: '2001:db8:10:2a00::3%x"),
    ("network.addresses.1.gateway", "2001:db8:10:2a00::2%eth0",
     "network.addresses[1].gateway: '2001:db8:10:2a00::2%eth0' is not an IPv6 address"),
    ("network.addresses.0.public", "true", "network.addresses[0].public: expected true or false"),
    ("network.addresses.0.enabled", 1, "network.addresses[0].enabled: expected true or false"),
    ("network.bonding", "lacp", "network.bonding: expected an object, got a string"),
    ("network.bonding.link_aggregation", "lacp",
     "network.bonding.link_aggregation: 'lacp' is not one of bonded, mlag_ha, individual"),
    ("network.bonding.mode", 7, "network.bonding.mode: 7 is not a bonding mode from 0 to 6"),
    ("network.bonding.mode", -1, "network.bonding.mode: -1 is not a bonding mode"),
    ("network.bonding.mode", "4", "network.bonding.mode: expected an integer, got a string"),
    ("network.bonding.mode", True, "network.bonding.mode: expected an integer, got a boolean"),
    ("network.bonding.mode", 4.0, "network.bonding.mode: expected an integer, got the number 4.0"),
    ("network.bonding.mac", "nope", "network.bonding.mac: 'nope' is not a MAC address"),
    ("private_subnets", "10.0.0.0/8", "private_subnets: expected a list, got a string"),
    ("private_subnets", ["10.0.0.0/33"], "private_subnets[0]: '10.0.0.0/33' is not an IPv4"),
    ("private_subnets", [8], "private_subnets[0]: expected a string, got a number"),
    ("operating_system", "centos", "operating_system: expected an object, got a string"),
    ("operating_system", {"distro": 7}, "operating_system.distro: expected a string"),
    ("plan", 3, "plan: expected a string, got a number"),
]


@pytest.mark.parametrize("path, value, expected", BAD_FIELDS,
                         ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD_FIELDS])
def test_bad_field_is_named(path, value, expected):
    doc = make_metadata()
    _set(doc, path, value)
    text = parse_error(doc)
    assert expected in text
    assert "\n" not in text


def test_netmask_alone_gives_the_prefix_for_both_families():
    doc = make_metadata()
    del doc["network"]["addresses"][0]["cidr"]
    del doc["network"]["addresses"][1]["cidr"]
    meta = metadata.parse(doc)
    assert meta.addresses[0].prefix == 31
    assert meta.addresses[1].prefix == 127


def test_missing_cidr_and_netmask_is_named():
    doc = make_metadata()
    del doc["network"]["addresses"][0]["cidr"]
    del doc["network"]["addresses"][0]["netmask"]
    assert "network.addresses[0]: missing both cidr and netmask" in parse_error(doc)


def test_non_contiguous_netmask_is_rejected():
    doc = make_metadata()
    del doc["network"]["addresses"][0]["cidr"]
    doc["network"]["addresses"][0]["netmask"] = "255.0.255.0"
    assert "network.addresses[0].netmask: '255.0.255.0' is not an IPv4 netmask" in parse_error(doc)


def test_cidr_wins_and_the_network_field_is_not_trusted():
    """Hand-edited documents: address + cidr + given gateway, never ``network``."""
    doc = make_metadata()
    addr = doc["network"]["addresses"][2]
    addr.update(address="10.66.4.9", cidr=29, netmask="255.255.255.254", network="10.1.1.1",
                gateway="10.66.4.9")
    meta = metadata.parse(doc)
    assert meta.addresses[2].cidr == "10.66.4.9/29" and not meta.addresses[2].onlink
    addr["gateway"] = "10.66.4.17"
    assert metadata.parse(doc).addresses[2].onlink


def test_gateway_on_31_may_be_below_the_address_and_on_29_is_network_plus_one():
    doc = make_metadata()
    doc["network"]["addresses"][2].update(address="10.66.4.13", cidr=29, gateway="10.66.4.9")
    meta = metadata.parse(doc)
    assert str(meta.addresses[0].gateway) == "198.51.100.22"   # /31: below the address
    assert str(meta.addresses[2].gateway) == "10.66.4.9"


def test_public_management_enabled_default():
    doc = make_metadata()
    for key in ("public", "management", "enabled"):
        del doc["network"]["addresses"][0][key]
        del doc["network"]["addresses"][2][key]
    meta = metadata.parse(doc)
    a, private = meta.addresses[0], meta.addresses[2]
    assert (a.public, a.management, a.enabled) == (True, True, True)
    assert (private.public, private.management, private.enabled) == (False, True, True)


def test_interface_without_bond_and_with_dhcp():
    doc = make_metadata()
    doc["network"]["interfaces"] = [{"name": "eth0", "mac": "0c:c4:7a:aa:00:10", "dhcp": True}]
    meta = metadata.parse(doc)
    assert meta.interfaces[0].bond is None and meta.dhcp


# --- loads: bytes to a document ------------------------------------------------------
def test_loads_accepts_bytes_and_str():
    doc = make_metadata()
    assert document.loads(json.dumps(doc).encode()).hostname == doc["hostname"]
    assert document.loads(json.dumps(doc)).hostname == doc["hostname"]


@pytest.mark.parametrize("data, expected", [
    (b"", "metadata is empty"),
    (b"{\"hostname\": ", "metadata is not valid JSON (line 1 column"),
    (b"<html>502 Bad Gateway</html>", "metadata is an HTML page"),
    (b"\xff\xfe{}", "metadata is not UTF-8"),
    (b"[1, 2]", "metadata is a list, not a JSON object; "),
    (b"null", "metadata is null, not a JSON object; "),
    (b"[" * 100000 + b"]" * 100000, "metadata"),
], ids=["empty", "truncated", "html", "utf16", "list", "null", "deeply-nested"])
def test_loads_rejects_what_is_not_a_metadata_object(data, expected):
    with pytest.raises(MetadataError) as info:
        document.loads(data)
    assert expected in info.value.one_line()


def test_loads_refuses_huge_documents():
    with pytest.raises(MetadataError, match="bytes, more than"):
        document.loads(b" " * (metadata.MAX_DOCUMENT_BYTES + 1))


def test_metadata_is_immutable():
    meta = metadata.parse(make_metadata())
    with pytest.raises(Exception):
        meta.hostname = "other"
