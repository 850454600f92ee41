"""Documents as real services and converters write them configure the server, in every family.

The documents are written here, shaped like those of OSIE's CI generator (an
individual layout, no bonding mode, an address the layout leaves alone),
osie-runner's cacher conversion (``management``, ``enabled`` and ``public``
dropped), Hegel's and Equinix's documents (``bonding`` null or without a mode,
host names with a trailing dot). The rule: validate what is configured, warn about
what is odd or left out, refuse only what cannot be written.
"""
import json
import re

import pytest

from support.helpers import make_metadata, nics_from_metadata, run_cli, snapshot, with_os, \
    write_metadata, write_nics

#: One release per family, and per stack that writes addresses.
FAMILY_OPTIONS = ["debian 12", "ubuntu 24.04", "centos 7", "rocky 9", "sles 15", "alpine 3.20",
                  "flatcar 4081.2.0"]
PUBLIC, PRIVATE, IPV6 = "198.51.100.23", "10.66.4.5", "2001:db8:10:2a00::3"


def run(tmp_path, doc, option):
    """``(exit code, stderr, {path: text} of every file written)``, into a root holding
    the os-release of the OS ``option`` names, as a mounted image does."""
    root = with_os(tmp_path / "root", *option.split())
    before = snapshot(root)
    code, out, err = run_cli(["-M", write_metadata(tmp_path / "m.json", doc), "--nics-file",
                              write_nics(tmp_path / "n.json", nics_from_metadata(doc)),
                              "-o", option, "-t", root, "--resolvers", "192.0.2.53"])
    files = {path: content.decode() for path, (mode, content) in snapshot(root).items()
             if isinstance(content, bytes) and before.get(path) != (mode, content)}
    return code, err, files


def text_of(files):
    return "\n".join(content for path, content in files.items() if path != "etc/hosts")


def warnings(err):
    return [line for line in err.splitlines() if line.startswith("WARNING:")]


def address(addr, cidr, gateway, family=4, **flags):
    entry = {"address_family": family, "address": addr, "cidr": cidr, "gateway": gateway}
    entry.update(flags)
    return entry


# --- OSIE's CI generator ------------------------------------------------------------------------
def osie_ci_document():
    """An individual layout with no bonding mode and interfaces without bonds; the
    addresses carry no ``enabled``; a non-management /31 whose gateway lies outside
    it is listed but not configured (nothing wrong with it: it is simply ignored)."""
    doc = make_metadata(hostname="dut", **{"class": "c3.small.x86"})
    doc["network"] = {
        "bonding": {"link_aggregation": "individual"},
        "interfaces": [{"name": "dummy0", "mac": "0c:c4:7a:aa:00:10"},
                       {"name": "dummy1", "mac": "0c:c4:7a:aa:00:11"}],
        "addresses": [
            address(PUBLIC, 31, "198.51.100.22", public=True, management=True,
                    netmask="255.255.255.254", network="198.51.100.22"),
            address(IPV6, 127, "2001:db8:10:2a00::2", family=6, public=True, management=True),
            address(PRIVATE, 31, "10.66.4.4", public=False, management=True),
            address("203.0.113.8", 31, "203.0.113.1", public=True, management=False),
        ],
    }
    return doc


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_osie_ci_document_configures_the_server(tmp_path, option):
    code, err, files = run(tmp_path, osie_ci_document(), option)
    assert code == 0, err
    text = text_of(files)
    assert PUBLIC in text and PRIVATE in text and IPV6 in text
    assert "203.0.113.8" not in text and "203.0.113.1" not in text
    assert warnings(err) == [], "an unused address is not configured on-link, nor warned about;" \
        " no bond: its mode is not missed"


# --- osie-runner's cacher conversion: flags dropped -------------------------------------------
def converted_document():
    """``management``, ``enabled`` and ``public`` dropped (Go's omitempty drops false
    and a converter dropped the rest); ``bonding.mode`` null."""
    doc = make_metadata()
    for entry in doc["network"]["addresses"]:
        for key in ("management", "enabled", "public"):
            entry.pop(key)
    doc["network"]["bonding"]["mode"] = None
    return doc


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_missing_flags_read_as_a_converter_wrote_them(tmp_path, option):
    code, err, files = run(tmp_path, converted_document(), option)
    assert code == 0, err
    text = text_of(files)
    assert PUBLIC in text and PRIVATE in text and IPV6 in text
    assert "10.0.0.0" in text, "the private address routes the private subnets: it is private"
    assert "802.3ad" in text
    mode = [w for w in warnings(err) if "bonding.mode is missing" in w]
    assert len(mode) == 1 and "mode 4" in mode[0]


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
@pytest.mark.parametrize("bonding", [None, "absent"])
def test_no_bonding_section_is_mode_4_with_a_warning(tmp_path, option, bonding):
    doc = make_metadata()
    if bonding == "absent":
        del doc["network"]["bonding"]
    else:
        doc["network"]["bonding"] = None
    code, err, files = run(tmp_path, doc, option)
    assert code == 0, err
    assert "802.3ad" in text_of(files)
    assert [w for w in warnings(err) if "network.bonding is missing" in w and "mode 4" in w]


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_a_given_mode_is_kept_without_warning(tmp_path, option):
    doc = make_metadata()
    doc["network"]["bonding"]["mode"] = 1
    code, err, files = run(tmp_path, doc, option)
    assert code == 0 and "active-backup" in text_of(files) and warnings(err) == [], err


# --- validate what is used ------------------------------------------------------------------------
UNUSED = [
    ("disabled", address("not-an-ip", 31, "10.9.9.9", enabled=False), "enabled: false"),
    ("elastic", address("203.0.113.9", 32, "2001:db8::1", public=True, management=False),
     "management: false"),
    ("second-public-v4", address(PUBLIC.replace("23", "41"), 99, "198.51.100.40", public=True,
                                 management=True), "only the first public IPv4"),
    ("second-private-v4", address("10.66.9.9", 31, "nope", public=False), "only the first private"),
    ("private-v6", address("fd00::5", 129, "fd00::4", family=6), "private IPv6"),
]


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
@pytest.mark.parametrize("name, entry, reason", UNUSED, ids=[u[0] for u in UNUSED])
def test_a_malformed_address_that_is_not_configured_is_one_warning(tmp_path, option, name,
                                                                     entry, reason):
    doc = make_metadata()
    doc["network"]["addresses"].append(entry)
    code, err, files = run(tmp_path, doc, option)
    assert code == 0, err
    text = text_of(files)
    assert PUBLIC in text and PRIVATE in text
    assert entry["address"] not in text
    found = [w for w in warnings(err) if "network.addresses[3]" in w]
    assert len(found) == 1 and reason in found[0] and "left out" in found[0], err


@pytest.mark.parametrize("option", FAMILY_OPTIONS)
@pytest.mark.parametrize("index, change, field", [
    (0, {"address": "198.51.100.300"}, "network.addresses[0].address"),
    (1, {"cidr": 200}, "network.addresses[1].cidr"),
    (2, {"gateway": "224.0.0.9"}, "network.addresses[2].gateway"),
    (0, {"enabled": "yes", "address": "x"}, "network.addresses[0]"),
    (0, {"public": "true"}, "network.addresses[0].public"),
], ids=["used-v4", "used-v6", "used-private", "flags-unreadable", "public-not-bool"])
def test_a_malformed_address_that_is_configured_is_exit_40(tmp_path, option, index, change,
                                                            field):
    doc = make_metadata()
    doc["network"]["addresses"][index].update(change)
    code, err, files = run(tmp_path, doc, option)
    assert code == 40
    assert err.startswith("packet-networking: error: metadata file ") and field in err
    assert err.count("\n") == 1 and "; " in err
    assert files == {}


def test_the_first_address_of_its_kind_is_validated_even_before_a_good_one(tmp_path):
    doc = make_metadata()
    doc["network"]["addresses"].insert(0, address("198.51.100.7", 31, "0.0.0.0",
                                                  public=True, management=True))
    code, err, files = run(tmp_path, doc, "debian 12")
    assert code == 40 and "network.addresses[0].gateway: 0.0.0.0" in err and files == {}


# --- gateways outside their address's network (issue 11 point 2) ----------------------------
@pytest.mark.parametrize("option", FAMILY_OPTIONS)
def test_a_gateway_outside_the_network_is_on_link_when_configured_ignored_when_not(tmp_path,
                                                                                 option):
    """The first public IPv4 is configured: its gateway outside the /31 is one WARNING and
    the default route via it. The second one, and a private IPv6, are not configured: their
    gateways outside their networks are neither written nor warned about."""
    doc = make_metadata()
    doc["network"]["addresses"][0]["gateway"] = "198.51.100.1"
    doc["network"]["addresses"] += [
        address("198.51.100.41", 31, "198.51.100.3", public=True, management=True),
        address("fd00::5", 127, "fd00::9999", family=6)]
    code, err, files = run(tmp_path, doc, option)
    assert code == 0, err
    assert warnings(err) == ["WARNING: network.addresses[0].gateway: 198.51.100.1 is not in "
                             f"{PUBLIC}/31: routes via it are written on-link"]
    text = text_of(files)
    assert PUBLIC in text and re.search(r"\b198\.51\.100\.1\b", text)
    for unused in ("198.51.100.41", "198.51.100.3", "fd00::5", "fd00::9999"):
        assert not re.search(rf"\b{re.escape(unused)}\b", text), unused


# --- host names --------------------------------------------------------------------------------
@pytest.mark.parametrize("option", FAMILY_OPTIONS)
@pytest.mark.parametrize("hostname, written", [
    ("node-01.example.net.", "node-01.example.net"), ("node_01", "node_01"),
    ("_svc.node-01.example.net", "_svc.node-01.example.net"),
])
def test_host_names_as_systemd_takes_them(tmp_path, option, hostname, written):
    code, err, files = run(tmp_path, make_metadata(hostname=hostname), option)
    assert code == 0, err
    assert files["etc/hostname"].strip() == written
    assert written in files["etc/hosts"] and f"{written}." not in files["etc/hosts"]


@pytest.mark.parametrize("hostname", ["", " ", ".", "web 01", "web\t01", "web\n01", "web\x07",
                                      "web'01", 'web"01', "web;reboot", "$(reboot)", "`id`",
                                      "web|x", "web&x", "a" * 254, "web..example"])
def test_host_names_that_cannot_be_written_safely_are_refused(tmp_path, hostname):
    code, err, files = run(tmp_path, make_metadata(hostname=hostname), "debian 12")
    assert code == 40 and "hostname" in err and err.count("\n") == 1 and files == {}


# --- size --------------------------------------------------------------------------------------
def test_a_document_with_large_customdata_parses(tmp_path):
    doc = make_metadata(customdata={"blob": "x" * (40 << 20)})
    code, err, files = run(tmp_path, doc, "debian 12")
    assert code == 0, err


def test_a_document_over_64_mib_is_exit_40(tmp_path):
    doc = make_metadata()
    text = json.dumps(doc)[:-1] + ', "customdata": "' + "x" * (64 << 20) + '"}'
    path = tmp_path / "m.json"
    path.write_text(text)
    root = tmp_path / "root"
    root.mkdir()
    code, out, err = run_cli(["-M", path, "--nics-file",
                              write_nics(tmp_path / "n.json", nics_from_metadata(doc)),
                              "-o", "debian 12", "-t", root, "--resolvers", "192.0.2.53"])
    assert code == 40 and f"metadata file {path} is " in err and "more than the" in err
    assert snapshot(root) == {}
