"""Real-world shapes: every metadata document in tests/fixtures/documents through the CLI
for several RedHat-family releases, every lshw capture in tests/fixtures/lshw parsed.

The fixtures are written for these tests after public samples (Equinix Metal, Tinkerbell
Hegel's mock, hollow-metadataservice, Talos, OSIE; lshw from VMs and servers: see
tests/fixtures/README.md); their shapes, key omissions, MAC spellings and driver names
are the real ones, their values are not.

Checks read the written files the way an operator would, whatever the stack chosen for
the release (ifcfg or NetworkManager keyfiles): addresses with prefixes, gateways,
private routes, bond mode, slave MACs, determinism and idempotence.
"""
import ipaddress
import re

import pytest

from support.helpers import (CAPTURES, DOCUMENTS, REFUSED_DOCUMENTS, WARNED_DOCUMENTS, document_names, expected_addresses,
                     load_document, make_metadata, nics_from_metadata, run_cli, snapshot,
                     with_os, write_metadata, write_nics)
from packetnetworking import nics

RELEASES = ["centos 7", "rocky 8", "almalinux 9", "rhel 9.4"]
MODE_NAMES = {0: "balance-rr", 1: "active-backup", 2: "balance-xor", 3: "broadcast",
              4: "802.3ad", 5: "balance-tlb", 6: "balance-alb"}


def texts(root):
    return {path: content.decode() for path, (_, content) in snapshot(root).items()
            if isinstance(content, bytes)}


def has_address(files, address, prefix):
    """Some file configures ``address`` with ``prefix`` (CIDR, or IPADDR + PREFIX/NETMASK)."""
    netmask = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).netmask)
    for text in files.values():
        if f"{address}/{prefix}" in text:
            return True
        if f"={address}\n" in text and (f"PREFIX={prefix}\n" in text
                                        or f"NETMASK={netmask}\n" in text):
            return True
    return False


def same_file(files, *needles):
    return any(all(n.lower() in text.lower() for n in needles) for text in files.values())


def routes_via(files, address):
    """The gateway of ``address`` is written: beside the address, or (a gateway outside
    the address's network) in an on-link default route."""
    network = ipaddress.ip_interface(f"{address['address']}/{address['cidr']}").network
    if ipaddress.ip_address(address["gateway"]) in network:
        return same_file(files, address["address"], address["gateway"])
    return any(re.search(rf"^default via {re.escape(address['gateway'])} .*onlink$", text, re.M)
               for text in files.values())


@pytest.fixture
def run_document(tmp_path):
    def run(name, release, root_name="rootfs"):
        doc = load_document(name)
        nic_file = write_nics(tmp_path / f"{name}.nics.json", nics_from_metadata(doc))
        # the os-release of the OS the run's -o names, as the mounted image holds
        root = with_os(tmp_path / root_name, *release.split())
        result = run_cli(["-M", DOCUMENTS / name, "--nics-file", nic_file, "-o", release,
                          "-t", root, "--resolvers", "192.0.2.53,2001:db8::53"])
        return doc, root, result
    return run


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", document_names())
def test_document_through_the_cli(run_document, name, release):
    doc, root, (code, out, err) = run_document(name, release)
    if name in REFUSED_DOCUMENTS:
        assert code == 40 and out == ""
        assert REFUSED_DOCUMENTS[name] in err
        assert err.startswith("packet-networking: error: ")
        assert err.count("\n") == 1 and "Traceback" not in err
        assert set(snapshot(root)) == {"usr", "usr/lib", "usr/lib/os-release"}, "nothing written"
        return
    assert code == 0, err
    if name in WARNED_DOCUMENTS:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(WARNED_DOCUMENTS[name]), err
    else:
        assert err == ""
    files = texts(root)
    primary, v6, private = expected_addresses(doc)
    assert has_address(files, primary["address"], primary["cidr"])
    assert routes_via(files, primary)
    if v6:
        assert has_address(files, v6["address"], v6["cidr"])
        assert same_file(files, v6["address"], v6["gateway"])
    if private and private is not primary:
        assert has_address(files, private["address"], private["cidr"])
    if private:
        for subnet in doc.get("private_subnets", ["10.0.0.0/8"]):
            assert same_file(files, subnet, private["gateway"]), subnet
    for address in doc["network"]["addresses"]:
        if address.get("management") is False or address.get("enabled") is False:
            assert not any(address["address"] in t for t in files.values()), address["address"]
    assert files["etc/hostname"].strip() == doc["hostname"]
    mode = MODE_NAMES[doc["network"]["bonding"].get("mode", 4)]
    assert any(mode in t for t in files.values())
    for iface in doc["network"]["interfaces"]:
        assert any(iface["mac"].lower() in t.lower() for p, t in files.items()
                   if iface["name"] in p), iface
    for bond in {i.get("bond") or "bond0" for i in doc["network"]["interfaces"]}:
        assert any(bond in p for p in files), bond


@pytest.mark.parametrize("name", [n for n in document_names() if n not in REFUSED_DOCUMENTS])
def test_document_output_is_deterministic_and_idempotent(run_document, name):
    _, first_root, (code, _, err) = run_document(name, "rocky 8", "first")
    assert code == 0, err
    first = snapshot(first_root)
    _, second_root, (code, _, _) = run_document(name, "rocky 8", "second")
    assert code == 0 and snapshot(second_root) == first
    _, again_root, (code, _, _) = run_document(name, "rocky 8", "first")
    assert code == 0 and snapshot(again_root) == first


def test_refused_documents_are_known():
    """The table names real files (a renamed fixture must not pass silently)."""
    assert set(REFUSED_DOCUMENTS) <= set(document_names())
    assert len(document_names()) >= 9


# --- lshw captures ------------------------------------------------------------------------

#: capture -> the physical ports it holds (name, MAC, driver), in document order.
EXPECTED_NICS = {
    # lshw -json (array root): X710 bond slaves both showing the bond's MAC, the bond0
    # node itself (driver bonding, no businfo: skipped) and a disabled BMC USB NIC (kept)
    "bond-slaves-usb-bmc.json": [
        ("eno1", "3c:ec:ef:52:a0:6e", "i40e"), ("eno2", "3c:ec:ef:52:a0:6e", "i40e"),
        ("enx1a2b3c4d5e6f", "1a:2b:3c:4d:5e:6f", "cdc_ether")],
    # lshw -class network -xml: XXV710 bond slaves sharing one serial, bond0 at the root
    "bond-slaves.xml": [
        ("enp65s0f0", "f8:f2:1e:9a:33:c0", "i40e"), ("enp65s0f1", "f8:f2:1e:9a:33:c0", "i40e")],
    # lshw -json (object root): disabled onboard X722 (link=no: kept), ConnectX-4 Lx slaves
    "disabled-onboard-and-slaves.json": [
        ("eno1", "ac:1f:6b:7e:20:a4", "i40e"), ("eno2", "ac:1f:6b:7e:20:a5", "i40e"),
        ("enp216s0f0", "b8:ce:f6:5d:10:7a", "mlx5_core"),
        ("enp216s0f1", "b8:ce:f6:5d:10:7a", "mlx5_core")],
    # a laptop (lshw B.02.16): tun devices and wlan0 at the root without bus info, a
    # wireless controller without logicalname: no physical port
    "laptop.xml": [],
    # unclaimed X710s (no driver, logicalname or serial: skipped); I350 em3, em4 disabled
    "unclaimed-controllers.json": [
        ("em3", "24:6e:96:3a:b1:c2", "igb"), ("em4", "24:6e:96:3a:b1:c3", "igb")],
    # a virtio VM: the PCI parent (virtio-pci, no MAC) is skipped, its child is the NIC
    "virtio-class-network.json": [("ens4", "52:54:00:6b:3a:01", "virtio_net")],
    "virtio-class-network.xml": [("ens4", "52:54:00:6b:3a:01", "virtio_net")],
    # full `lshw -xml`: one <node> root, not a <list>
    "virtio-full.xml": [("ens4", "52:54:00:6b:3a:01", "virtio_net")],
}


@pytest.mark.parametrize("name", sorted(p.name for p in CAPTURES.iterdir()))
def test_every_lshw_capture_parses_to_its_physical_ports(name):
    assert name in EXPECTED_NICS, f"new capture {name}: add its expected NICs"
    if not EXPECTED_NICS[name]:  # a capture without a physical port is refused, named
        with pytest.raises(nics.NICError, match=f"{name} holds no physical NIC"):
            nics.load_nics_file((CAPTURES / name).read_bytes(), name)
        return
    found = nics.load_nics_file((CAPTURES / name).read_bytes(), name)
    assert [(n.name, n.mac, n.driver) for n in found] == EXPECTED_NICS[name]


def _doc_for(macs):
    doc = make_metadata()
    doc["network"]["bonding"]["mac"] = macs[0]
    doc["network"]["interfaces"] = [
        {"name": f"eth{i}", "mac": mac.upper(), "bond": "bond0"} for i, mac in enumerate(macs)]
    return doc


@pytest.mark.parametrize("name, macs, names", [
    ("virtio-class-network.xml", ["52:54:00:6b:3a:01"], ["ens4"]),
    ("virtio-full.xml", ["52:54:00:6b:3a:01"], ["ens4"]),
    ("virtio-class-network.json", ["52:54:00:6b:3a:01"], ["ens4"]),
    ("unclaimed-controllers.json", ["24:6e:96:3a:b1:c2", "24:6e:96:3a:b1:c3"], ["em3", "em4"]),
    ("disabled-onboard-and-slaves.json", ["ac:1f:6b:7e:20:a4", "ac:1f:6b:7e:20:a5"],
     ["eno1", "eno2"]),
])
def test_lshw_capture_through_the_cli(tmp_path, rootfs, name, macs, names):
    meta = write_metadata(tmp_path / "m.json", _doc_for(macs))
    with_os(rootfs, "centos", "7")
    code, out, err = run_cli(["-M", meta, "--nics-file", CAPTURES / name, "-o", "centos 7",
                              "-t", rootfs, "--resolvers", "192.0.2.53"])
    assert (code, err) == (0, ""), err
    files = texts(rootfs)
    for mac, nic in zip(macs, names):
        assert any(mac in t.lower() for p, t in files.items() if nic in p), nic


@pytest.mark.parametrize("name, nic_names", [
    ("bond-slaves.xml", "enp65s0f0, enp65s0f1"),
    ("bond-slaves-usb-bmc.json", "eno1, eno2"),
])
def test_capture_of_bonded_slaves_sharing_a_mac_is_exit_50_with_advice(tmp_path, rootfs, name,
                                                                      nic_names):
    """lshw shows the bond's MAC on both slaves: a saved capture cannot tell them apart."""
    shared = EXPECTED_NICS[name][0][1]
    other = shared[:-1] + ("1" if shared[-1] != "1" else "2")
    meta = write_metadata(tmp_path / "m.json", _doc_for([shared, other]))
    code, out, err = run_cli(["-M", meta, "--nics-file", CAPTURES / name,
                              "-o", "centos 7", "-t", rootfs], subprocess=True)
    assert code == 50 and out == "" and err.count("\n") == 1
    assert f"matches several NICs ({nic_names})" in err and "permanent" in err
    assert snapshot(rootfs) == {}
