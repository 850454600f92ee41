"""NetworkManager keyfile stack: every keyfile read back by libnm, asserted like an operator.

libnm runs in Debian's ``/usr/bin/python3`` (packages ``python3-gi`` and
``gir1.2-nm-1.0``) through ``tests/support/nm_validate.py``, which reports what libnm
understood (after ``keyfile_read``, ``verify()`` and ``normalize()``); the tests
compare that with what the metadata says (``stack_cases.Expected``, written by
hand). Without libnm those tests skip, or fail when ``PN_REQUIRE_VALIDATORS=1``;
``PN_TEST_NM_PYTHON`` names another Python that has libnm.

The ``boot`` tests (``pytest -m boot tests/test_networkmanager.py``, root, QEMU)
boot the keyfiles in a Debian 12 VM (NetworkManager 1.42) and check the bond,
addresses and routes that come up.
"""
import ipaddress
import json
import os
import re
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from support import stack_cases as sc
from support.helpers import load_document, make_metadata, nics_from_metadata, run_cli, snapshot, \
    write_metadata, write_nics
from packetnetworking.errors import MetadataError
from packetnetworking.renderers import shared_renderer
from packetnetworking.renderers.networkmanager.builder import BUILDERS
from packetnetworking.renderers.networkmanager import builder as nm

SYSTEM_PYTHON = os.environ.get("PN_TEST_NM_PYTHON", "/usr/bin/python3")
VALIDATOR = Path(__file__).parent / "support" / "nm_validate.py"
KEYFILE_DIR = "etc/NetworkManager/system-connections"
NM_LINKS = ("etc/systemd/system/multi-user.target.wants/NetworkManager.service",
            "etc/systemd/system/dbus-org.freedesktop.NetworkManager.service",
            "etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service")
CLOUD_INIT_KEYFILE = """\
[connection]
id=cloud-init eth0
uuid=1dd9a779-d327-56e1-8454-c65e2556c12c
autoconnect-priority=120
type=ethernet

[ethernet]
mac-address=0C:C4:7A:AA:00:10

[ipv4]
method=auto
"""


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _missing_validator(message):
    if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
        pytest.fail(f"{message}; PN_REQUIRE_VALIDATORS=1 requires libnm")
    pytest.skip(message)


@pytest.fixture(scope="session")
def libnm():
    """``validate(files or dirs) -> {connection id: summary}``, libnm's reading of keyfiles."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        _missing_validator(f"{SYSTEM_PYTHON} not found (libnm is used from Debian's Python)")
    probe = subprocess.run([SYSTEM_PYTHON, str(VALIDATOR), "--probe"], capture_output=True,
                           text=True, timeout=60)
    if probe.returncode != 0:
        _missing_validator(probe.stderr.strip() or f"nm_validate.py --probe exited "
                                                   f"{probe.returncode}")

    def validate(*paths, expect_valid=True):
        proc = subprocess.run([SYSTEM_PYTHON, str(VALIDATOR), *map(str, paths)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr
        results = json.loads(proc.stdout)
        if expect_valid:
            bad = [r for r in results if not r["ok"]]
            assert not bad, "libnm did not accept: " + json.dumps(bad, indent=1)
            assert proc.returncode == 0
            return {r["id"]: r for r in results}
        return results

    return validate


def render(doc, nic_count, resolvers=sc.RESOLVERS):
    """``{path: FileOp}`` of the keyfile stack alone."""
    return sc.render_stack(BUILDERS, doc, nic_count, resolvers=resolvers)


def write_tree(rendered, root):
    """Write rendered files under ``root`` with their modes; return the keyfile directory."""
    for path, item in rendered.items():
        target = Path(root) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.content)
        os.chmod(target, item.mode)
    return Path(root) / KEYFILE_DIR


def keyfile(text):
    """A keyfile as ``{group: {key: value}}``; duplicate keys or groups are an error."""
    groups, current = {}, None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"\[([^\]]+)\]", line)
        if match:
            assert match.group(1) not in groups, f"group [{match.group(1)}] twice"
            current = groups[match.group(1)] = {}
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"not a key=value line in a group: {line!r}"
        assert key not in current, f"key {key} twice"
        current[key] = value
    return groups


def family(address):
    return ipaddress.ip_interface(address).version


def by_mac(connections):
    return {c["mac_address"].lower(): c for c in connections.values() if c["mac_address"]}


# --------------------------------------------------------------------------
# every layout, read by libnm
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", list(sc.CASES))
def test_layout_as_libnm_reads_it(case, libnm, tmp_path):
    doc, nic_count, exp = sc.CASES[case]
    rendered = render(doc, nic_count)
    assert rendered and all(p.startswith(KEYFILE_DIR + "/") and p.endswith(".nmconnection")
                            for p in rendered)
    assert {r.mode for r in rendered.values()} == {0o600}
    conns = libnm(write_tree(rendered, tmp_path))
    assert len(conns) == len(rendered)
    macs = by_mac(conns)
    name_of_mac = {mac: name for name, mac in exp.nics.items()}

    # every matched NIC has exactly one connection, matched by its MAC and not by name
    assert set(macs) == set(exp.nics.values())
    assert sum(1 for c in conns.values() if c["type"] == "802-3-ethernet") == len(exp.nics)
    for conn in conns.values():
        assert conn["autoconnect"] is True
        assert conn["autoconnect_priority"] == nm.AUTOCONNECT_PRIORITY > 120
        assert uuid.UUID(conn["uuid"]).version == 5
        if conn["type"] == "802-3-ethernet":
            assert conn["interface_name"] is None
    assert len({c["uuid"] for c in conns.values()}) == len(conns)

    # bonds: options, MAC, members
    bond_conns = {c["id"]: c for c in conns.values() if c["type"] == "bond"}
    assert set(bond_conns) == {b.name for b in exp.bonds}
    for bond in exp.bonds:
        conn = bond_conns[bond.name]
        assert conn["interface_name"] == bond.name
        assert conn["cloned_mac_address"].lower() == bond.mac
        wanted = {"mode": bond.mode, "miimon": "100", "updelay": "200", "downdelay": "200"}
        if bond.hash_policy:
            wanted["xmit_hash_policy"] = bond.hash_policy
        if bond.lacp_rate:
            wanted["lacp_rate"] = bond.lacp_rate
        assert conn["bond_options"] == wanted
        ports = [c for c in conns.values() if c["master"] == bond.name]
        assert sorted(name_of_mac[p["mac_address"].lower()] for p in ports) == sorted(bond.members)
        for port in ports:
            assert port["slave_type"] == "bond"
            assert port["ipv4"] is None and port["ipv6"] is None  # ports carry no IP

    def conn_of(device):
        return bond_conns[device] if device in bond_conns else macs[exp.nics[device]]

    # the addresses, gateways, private routes and nameservers, on one device only
    if exp.device:
        conn = conn_of(exp.device)
        for key, fam, gateway in (("ipv4", 4, exp.gateway4), ("ipv6", 6, exp.gateway6)):
            ip = conn[key]
            addresses = [a for a in exp.addresses if family(a) == fam]
            assert ip["addresses"] == addresses
            assert ip["method"] == ("manual" if addresses else "disabled")
            assert ip["gateway"] == gateway
            dns = [d for d in exp.dns if ipaddress.ip_address(d).version == fam]
            assert ip["dns"] == (dns if addresses else [])
        assert [(r["dest"], r["next_hop"]) for r in conn["ipv4"]["routes"]] == exp.private_routes
        assert conn["ipv6"]["routes"] == []
    addressed = [c["id"] for c in conns.values()
                 if c["ipv4"] and (c["ipv4"]["addresses"] or c["ipv6"]["addresses"])]
    assert addressed == ([conn_of(exp.device)["id"]] if exp.device else [])

    for device in exp.dhcp:
        conn = conn_of(device)
        for key in ("ipv4", "ipv6"):
            assert conn[key]["method"] == "auto"
            assert conn[key]["addresses"] == [] and conn[key]["dns"] == []
            assert conn[key]["gateway"] is None
    for device in exp.bare:
        conn = conn_of(device)
        assert conn["master"] is None
        assert conn["ipv4"]["method"] == conn["ipv6"]["method"] == "disabled"
        assert conn["ipv4"]["addresses"] == conn["ipv6"]["addresses"] == []


@pytest.mark.parametrize("mode", range(7))
def test_every_bonding_mode_verifies_and_lacp_options_only_with_lacp(mode, libnm, tmp_path):
    """libnm refuses e.g. lacp_rate outside 802.3ad: such a combination is never written."""
    rendered = render(sc.document(mode=mode, bonds=("bond0", "bond1", "bond0", "bond1")), 4)
    conns = libnm(write_tree(rendered, tmp_path))
    for name in ("bond0", "bond1"):
        options = conns[name]["bond_options"]
        assert options["mode"] == sc.MODE_NAMES[mode]
        assert ("lacp_rate" in options) == (mode == 4)
        assert ("xmit_hash_policy" in options) == (mode in (2, 4))
        text = rendered[f"{KEYFILE_DIR}/{name}.nmconnection"].content
        assert ("lacp_rate=" in text) == (mode == 4)


def test_private_routes_and_alias_on_the_same_bond(libnm, tmp_path):
    """Public /29 primary, private alias, three private subnets, resolvers of both families."""
    public = dict(sc.PUBLIC4, address="198.51.100.26", cidr=29, network="198.51.100.24",
                  gateway="198.51.100.25", netmask="255.255.255.248")
    doc = sc.document(addresses=[public, sc.PUBLIC6, sc.PRIVATE4],
                      private_subnets=["10.0.0.0/8", "172.16.0.0/12", "100.64.0.0/10"])
    conns = libnm(write_tree(render(doc, 2, resolvers=["1.1.1.1", "2606:4700::1111",
                                                        "8.8.8.8"]), tmp_path))
    ipv4 = conns["bond0"]["ipv4"]
    assert ipv4["addresses"] == ["198.51.100.26/29", "10.66.4.5/31"]
    assert ipv4["gateway"] == "198.51.100.25"
    assert [(r["dest"], r["next_hop"]) for r in ipv4["routes"]] == [
        ("10.0.0.0/8", "10.66.4.4"), ("172.16.0.0/12", "10.66.4.4"), ("100.64.0.0/10", "10.66.4.4")]
    assert ipv4["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert conns["bond0"]["ipv6"]["dns"] == ["2606:4700::1111"]


# --------------------------------------------------------------------------
# the validator itself can say no
# --------------------------------------------------------------------------

def _negative(tmp_path, name, text):
    path = tmp_path / f"{name}.nmconnection"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_validator_rejects_what_libnm_rejects(libnm, tmp_path):
    """Controls: without these the libnm tests above could pass on anything."""
    good = render(sc.document(mode=1), 2)[f"{KEYFILE_DIR}/bond0.nmconnection"].content
    assert "lacp_rate" not in good
    lacp = _negative(tmp_path, "lacp", good.replace("[bond]\n", "[bond]\nlacp_rate=fast\n"))
    no_uuid = _negative(tmp_path, "nouuid", re.sub(r"(?m)^uuid=.*\n", "", good))
    port = render(sc.document(), 2)[f"{KEYFILE_DIR}/{sc.NAMES[0]}.nmconnection"].content
    renamed = _negative(tmp_path, "controller", port.replace("master=", "controller=")
                        .replace("slave-type=", "port-type="))
    results = {Path(r["file"]).stem: r for r in libnm(lacp, no_uuid, renamed,
                                                       expect_valid=False)}
    assert "lacp_rate" in results["lacp"]["error"]
    assert "uuid" in results["nouuid"]["error"]
    # libnm < 1.46 skips controller=/port-type= silently: the NIC would not join the bond
    assert results["controller"]["unknown_keys"] == ["connection.controller",
                                                     "connection.port-type"]
    assert results["controller"]["master"] is None and not results["controller"]["ok"]


# --------------------------------------------------------------------------
# the files as text (no libnm needed)
# --------------------------------------------------------------------------

def test_bond_and_port_keys_are_the_ones_every_supported_networkmanager_reads():
    rendered = render(sc.document(), 2)
    bond = keyfile(rendered[f"{KEYFILE_DIR}/bond0.nmconnection"].content)
    assert bond["connection"]["interface-name"] == "bond0"
    assert bond["ethernet"] == {"cloned-mac-address": sc.MACS[0]}
    # autoconnect-slaves made ports leave the bond in a loop on Debian 12 (see builder.py)
    assert "autoconnect-slaves" not in bond["connection"]
    assert "autoconnect-ports" not in bond["connection"]
    for name, mac in zip(sc.NAMES[:2], sc.MACS):
        port = keyfile(rendered[f"{KEYFILE_DIR}/{name}.nmconnection"].content)
        assert port["connection"]["master"] == "bond0"
        assert port["connection"]["slave-type"] == "bond"
        assert "controller" not in port["connection"] and "port-type" not in port["connection"]
        assert "interface-name" not in port["connection"]
        assert port["ethernet"] == {"mac-address": mac}
        assert set(port) == {"connection", "ethernet"}


def test_every_file_has_the_header_and_no_blank_runs():
    for case, (doc, nic_count, _) in sc.CASES.items():
        for path, item in render(doc, nic_count).items():
            assert item.content.startswith("# Generated by packet-networking"), (case, path)
            assert "\n\n\n" not in item.content and not item.content.endswith("\n\n")
            keyfile(item.content)  # parses: no duplicate group or key


def test_two_runs_are_byte_identical_and_uuids_follow_the_id():
    doc, nic_count, _ = sc.CASES["two-bonds-interleaved"]
    first, second = render(doc, nic_count), render(doc, nic_count)
    assert {p: r.content for p, r in first.items()} == {p: r.content for p, r in second.items()}
    uuids = {p: keyfile(r.content)["connection"]["uuid"] for p, r in first.items()}
    assert len(set(uuids.values())) == len(uuids)
    # the uuid depends on the connection id only, not on the server
    other = render(sc.document(addresses=[sc.PRIVATE4]), 2)
    path = f"{KEYFILE_DIR}/bond0.nmconnection"
    assert keyfile(other[path].content)["connection"]["uuid"] == uuids[path]


def test_no_ipv6_disables_it_and_drops_ipv6_nameservers():
    doc, nic_count, _ = sc.CASES["no-ipv6-two-private-subnets"]
    bond = keyfile(render(doc, nic_count)[f"{KEYFILE_DIR}/bond0.nmconnection"].content)
    assert bond["ipv6"] == {"method": "disabled"}
    assert bond["ipv4"]["dns"] == "147.75.207.207;"


def test_dhcp_writes_no_address_gateway_or_nameserver():
    doc, nic_count, _ = sc.CASES["dhcp-bonded"]
    bond = keyfile(render(doc, nic_count)[f"{KEYFILE_DIR}/bond0.nmconnection"].content)
    assert bond["ipv4"] == {"method": "auto"} and bond["ipv6"] == {"method": "auto"}


def test_registered_as_the_shared_networkmanager_stack():
    assert shared_renderer("networkmanager") == BUILDERS


# --------------------------------------------------------------------------
# hostile values never reach a keyfile
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["bond0\n[ipv4]", "bond0\n", "a b", "a;b", "a,b", "a=b",
                                   "[x]", "a\\n", "#x", "", "a\rb", "é"])
def test_keyfile_value_refuses_anything_that_could_add_a_line_key_or_item(value):
    with pytest.raises(MetadataError):
        nm.keyfile_value(value, "test")


def test_a_hook_renaming_a_nic_into_a_line_break_is_refused():
    builder = sc.build_model(sc.document(), 2)
    builder.network.interfaces[1].name = "eth1\nmaster=evil"
    with pytest.raises(MetadataError, match="cannot be written into a NetworkManager keyfile"):
        for cls in BUILDERS:
            cls(builder.network).build()


def test_two_connections_with_one_name_are_refused():
    """A NIC the OS calls like a bond would overwrite the bond's keyfile."""
    builder = sc.build_model(sc.document(), 2)
    builder.network.interfaces[1].name = "bond0"
    with pytest.raises(MetadataError, match="two NetworkManager connections would be named"):
        BUILDERS[0](builder.network).build()


# --------------------------------------------------------------------------
# through the CLI and the families
# --------------------------------------------------------------------------

def _cli(tmp_path, doc, os_option, root, renderer="networkmanager", names=None,
         subprocess=False):
    meta = write_metadata(tmp_path / "metadata.json", doc)
    nics = write_nics(tmp_path / "nics.json", nics_from_metadata(doc, names=names))
    args = ["-M", meta, "--nics-file", nics, "-o", os_option, "-t", root,
            "--resolvers", "147.75.207.207,2001:4860:4860::8888"]
    if renderer:
        args += ["--renderer", renderer]
    return run_cli(args, subprocess=subprocess)


def _fake_root(root):
    """A target that runs NetworkManager, with stale profiles for the same NICs."""
    for rel in ("usr/sbin/NetworkManager",):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    for rel in NM_LINKS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/usr/lib/systemd/system/NetworkManager.service", root / rel)
    stale = root / KEYFILE_DIR
    stale.mkdir(parents=True)
    (stale / "cloud-init-eth0.nmconnection").write_text(CLOUD_INIT_KEYFILE)
    (stale / "Wired connection 1.nmconnection").write_text(
        CLOUD_INIT_KEYFILE.replace("cloud-init eth0", "Wired connection 1")
        .replace("autoconnect-priority=120\n", ""))
    for path in stale.iterdir():
        path.chmod(0o600)


@pytest.mark.parametrize("os_option", ["rocky 9", "almalinux 10", "rhel 9", "sles 16",
                                       "debian 12", "ubuntu 24.04", "fedora 40"])
def test_cli_writes_keyfiles_for_each_family(os_option, libnm, tmp_path, rootfs):
    _fake_root(rootfs)
    stale = {p: p.read_bytes() for p in (rootfs / KEYFILE_DIR).iterdir()}
    doc = make_metadata()
    code, out, err = _cli(tmp_path, doc, os_option, rootfs)
    assert code == 0, err
    ours = sorted(p for p in (rootfs / KEYFILE_DIR).iterdir() if p not in stale)
    assert [p.name for p in ours] == ["bond0.nmconnection", "eth0.nmconnection",
                                      "eth1.nmconnection"]
    for path in ours:
        st = path.stat()
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid()
    # stale profiles stay, and lose on priority; NetworkManager is left enabled
    assert {p: p.read_bytes() for p in stale} == stale
    for rel in NM_LINKS:
        assert (rootfs / rel).is_symlink(), f"{rel} removed with the keyfile stack"
    assert not (rootfs / "etc/sysconfig/network-scripts").exists()
    conns = libnm(*ours)
    assert conns["bond0"]["ipv4"]["addresses"] == ["198.51.100.23/31", "10.66.4.5/31"]
    assert conns["bond0"]["ipv6"]["gateway"] == "2001:db8:10:2a00::2"
    assert conns["eth1"]["master"] == "bond0"
    before = snapshot(rootfs)
    assert _cli(tmp_path, doc, os_option, rootfs)[0] == 0
    assert snapshot(rootfs) == before, "a second run changed the target"


@pytest.mark.parametrize("os_option", ["almalinux 10", "rocky 10", "rhel 10"])
def test_release_10_gets_keyfiles_by_default(os_option, tmp_path, rootfs):
    code, out, err = _cli(tmp_path, make_metadata(), os_option, rootfs, renderer=None)
    assert code == 0, err
    assert (rootfs / KEYFILE_DIR / "bond0.nmconnection").is_file()
    assert not (rootfs / "etc/sysconfig/network-scripts").exists()


def test_two_interleaved_bonds_document_through_the_cli(libnm, tmp_path, rootfs):
    """Talos' 2-bond shape (tests/fixtures/documents): eth0+eth2 in bond0, eth1+eth3 in bond1."""
    doc = load_document("talos-2bonds.json")
    names = ["eno1", "eno2", "eno3", "eno4"]
    code, out, err = _cli(tmp_path, doc, "rocky 9", rootfs, names=names)
    assert code == 0, err
    conns = libnm(rootfs / KEYFILE_DIR)
    assert sorted(c["mac_address"].lower() for c in conns.values() if c["master"] == "bond1") \
        == ["40:a6:b7:2c:91:f1", "40:a6:b7:2c:91:f3"]
    assert conns["bond0"]["ipv4"]["addresses"] == ["203.0.113.59/31", "10.70.44.9/31"]
    assert conns["bond0"]["ipv4"]["gateway"] == "203.0.113.58"
    assert conns["bond0"]["ipv6"]["addresses"] == ["2001:db8:91e2:3300::1/127"]
    assert conns["bond1"]["ipv4"]["method"] == "disabled"
    assert conns["bond1"]["cloned_mac_address"].lower() == "40:a6:b7:2c:91:f1"


# --------------------------------------------------------------------------
# boot in a Debian 12 VM (marker "boot": pytest -m boot)
# --------------------------------------------------------------------------

BOOT_MACS = ["52:54:00:5a:00:10", "52:54:00:5a:00:11", "52:54:00:5a:00:12", "52:54:00:5a:00:13"]


def _boot_doc(bonds, addresses, dhcp=(), link="bonded", mode=4):
    doc = sc.document(bonds=bonds, addresses=addresses, dhcp=dhcp, link=link, mode=mode)
    for iface, mac in zip(doc["network"]["interfaces"], BOOT_MACS):
        iface["mac"] = mac
    doc["network"]["bonding"]["mac"] = BOOT_MACS[0]
    doc["hostname"] = "nm-boot.example.net"
    return doc


@pytest.fixture(scope="module")
def vm():
    sys.path.insert(0, str(Path(__file__).with_name("boot")))
    import vmharness
    if os.geteuid() != 0:
        pytest.skip("booting needs root (debootstrap, chroot)")
    missing = vmharness.missing_host_tools()
    if missing:
        pytest.skip(f"missing host tools: {', '.join(missing)}")
    cache = os.environ.get("PN_BOOT_CACHE", "~/.cache/packet-networking/boot")
    return vmharness, vmharness.build_base_root(cache)


@pytest.mark.boot
def test_keyfiles_boot_on_debian_12(vm, tmp_path):
    harness, base = vm
    cases = {
        "nm-bonded": (_boot_doc(("bond0", "bond0"), [sc.PUBLIC4, sc.PUBLIC6, sc.PRIVATE4]),
                      ["198.51.100.23", "2001:db8:10:2a00::3", "10.66.4.5"]),
        "nm-two-bonds-private": (_boot_doc(("bond0", "bond1", "bond0", "bond1"), [sc.PRIVATE4]),
                                 ["10.66.4.5"]),
        "nm-individual": (_boot_doc((None, None), [sc.PUBLIC4, sc.PUBLIC6, sc.PRIVATE4],
                                    link="individual"),
                          ["198.51.100.23", "2001:db8:10:2a00::3", "10.66.4.5"]),
        # QEMU's user network answers DHCP with 10.0.2.15/24 (no router option: the
        # harness restricts it). Mode 1: with 802.3ad and no LACP partner the virtio
        # ports pass no traffic, so a lease never comes (a static bond does come up).
        "nm-dhcp-bonded": (_boot_doc(("bond0", "bond0"), [], dhcp=(0, 1), mode=1),
                           ["10.0.2.15"]),
    }

    def populate(name, doc):
        def run(root):
            inputs = tmp_path / "inputs" / name  # cases run in parallel threads
            inputs.mkdir(parents=True)
            names = [harness.guest_nic_name(i) for i in range(len(doc["network"]["interfaces"]))]
            code, out, err = _cli(inputs, doc, "debian 12", root, names=names,
                                  subprocess=True)  # in-process runs share sys.stdout
            assert code == 0, err
        return run

    results = harness.run_cases(base, tmp_path / "vm", [
        harness.Case(name=name, stack="networkmanager",
                     macs=BOOT_MACS[:len(doc["network"]["interfaces"])],
                     populate=populate(name, doc), wait_for=wait, expected=f"keyfiles for {name}")
        for name, (doc, wait) in cases.items()])
    for name, result in results.items():
        if isinstance(result, BaseException):
            raise result
        print(name, result["accel"], {k: round(v) for k, v in result["timings"].items()})
    nic = harness.guest_nic_name

    report = results["nm-bonded"]["report"]
    context = harness.describe(results["nm-bonded"])
    assert harness.addresses(report, "bond0") == {"198.51.100.23/31", "2001:db8:10:2a00::3/127",
                                                  "10.66.4.5/31"}, context
    assert harness.find_route(report, "default")["gateway"] == "198.51.100.22", context
    assert harness.find_route(report, "default", 6)["gateway"] == "2001:db8:10:2a00::2", context
    private = harness.find_route(report, "10.0.0.0/8")
    assert private["gateway"] == "10.66.4.4" and private["dev"] == "bond0", context
    bond = harness.parse_bonding(report["bonding"]["bond0"])
    assert bond["mode"] == "IEEE 802.3ad Dynamic link aggregation", context
    assert bond["lacp_rate"] == "fast" and bond["xmit_hash_policy"].startswith("layer3+4")
    assert sorted(bond["slaves"]) == [nic(0), nic(1)], context
    assert bond["slave_macs"] == {nic(0): BOOT_MACS[0], nic(1): BOOT_MACS[1]}
    assert harness.link(report, "bond0")["address"] == BOOT_MACS[0]
    assert "nameserver 147.75.207.207" in report["resolv_conf"]
    # ports stay in the bond (autoconnect-slaves once made them leave it in a loop)
    assert "was detached" not in report["journal"], context
    assert report["units"]["NetworkManager.service"] == "active"

    report = results["nm-two-bonds-private"]["report"]
    context = harness.describe(results["nm-two-bonds-private"])
    assert harness.addresses(report, "bond0") == {"10.66.4.5/31"}, context
    assert harness.find_route(report, "default")["gateway"] == "10.66.4.4", context
    assert harness.find_route(report, "10.0.0.0/8")["gateway"] == "10.66.4.4", context
    assert harness.find_route(report, "default", 6) is None
    assert harness.addresses(report, "bond1") == set(), context
    assert "UP" in harness.link(report, "bond1")["flags"], context
    assert sorted(harness.parse_bonding(report["bonding"]["bond0"])["slaves"]) == [nic(0), nic(2)]
    assert sorted(harness.parse_bonding(report["bonding"]["bond1"])["slaves"]) == [nic(1), nic(3)]
    assert harness.link(report, "bond1")["address"] == BOOT_MACS[1]

    report = results["nm-individual"]["report"]
    context = harness.describe(results["nm-individual"])
    assert harness.addresses(report, nic(0)) == {"198.51.100.23/31", "2001:db8:10:2a00::3/127",
                                                 "10.66.4.5/31"}, context
    assert harness.find_route(report, "default")["dev"] == nic(0), context
    assert harness.find_route(report, "default", 6)["gateway"] == "2001:db8:10:2a00::2"
    assert harness.find_route(report, "10.0.0.0/8")["gateway"] == "10.66.4.4", context
    assert harness.addresses(report, nic(1)) == set(), context
    assert "UP" in harness.link(report, nic(1))["flags"], context
    assert report["bonding"] == {}, context

    report = results["nm-dhcp-bonded"]["report"]
    context = harness.describe(results["nm-dhcp-bonded"])
    assert "10.0.2.15/24" in harness.addresses(report, "bond0"), context
    bond = harness.parse_bonding(report["bonding"]["bond0"])
    assert bond["mode"].startswith("fault-tolerance (active-backup)"), context
    assert sorted(bond["slaves"]) == [nic(0), nic(1)], context
    assert harness.link(report, "bond0")["address"] == BOOT_MACS[0]
