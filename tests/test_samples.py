"""Real-world samples (../shared/samples, third-party, used in place): every metadata
document through the CLI for several RedHat-family releases, every lshw capture parsed.

Checks read the written files the way an operator would, whatever the stack chosen
for the release (ifcfg or NetworkManager keyfiles): addresses with prefixes,
gateways, private routes, bond mode, slave MACs, determinism and idempotence.
"""
import ipaddress
import json
import re

import pytest

from helpers import SAMPLES, nics_from_metadata, run_cli, snapshot, write_nics
from packetnetworking import nics

RELEASES = ["centos 7", "rocky 8", "almalinux 9", "rhel 9.4"]

#: Samples that must be refused, with what the one error line must say.
REFUSED = {
    "metal-toolbox-hollow-metadataservice__instance-c-metadata.json":
        "network.addresses: no enabled management address, and no interface asks for DHCP",
}

#: Samples configured with one WARNING, with what it must say. Hegel's mock is
#: hand-edited: 139.175.86.114/31 via .113, outside the /31; its routes are on-link.
WARNED = {
    "tinkerbell-hegel__mock-TinkerbellFilterMetadata__instance.json":
        "WARNING: network.addresses[0].gateway: 139.175.86.113 is not in 139.175.86.114/31",
}


def metadata_samples():
    if SAMPLES is None:
        return []
    return sorted(p.name for p in SAMPLES.glob("*.json") if "lshw" not in p.name.lower())


def lshw_samples():
    if SAMPLES is None:
        return []
    return sorted(p.name for p in SAMPLES.iterdir() if "lshw" in p.name.lower())


def expected_addresses(doc):
    """What docs/metadata.md says is configured: (primary v4, v6, private alias)."""
    usable = [a for a in doc["network"]["addresses"]
              if a.get("enabled", True) and a.get("management", False)]

    def first(family, public):
        return next((a for a in usable if a["address_family"] == family
                     and bool(a.get("public", False)) == public), None)
    public4, public6, private4 = first(4, True), first(6, True), first(4, False)
    return public4 or private4, public6, private4 if public4 else None, private4


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
def run_sample(samples, tmp_path):
    def run(name, release, root_name="rootfs"):
        doc = json.loads((samples / name).read_text())
        nic_file = write_nics(tmp_path / f"{name}.nics.json", nics_from_metadata(doc))
        root = tmp_path / root_name
        root.mkdir(exist_ok=True)
        result = run_cli(["-M", samples / name, "--nics-file", nic_file, "-o", release,
                          "-t", root, "--resolvers", "147.75.207.207,2001:4860:4860::8888"])
        return doc, root, result
    return run


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", metadata_samples())
def test_metadata_sample_through_the_cli(run_sample, name, release):
    doc, root, (code, out, err) = run_sample(name, release)
    if name in REFUSED:
        assert code == 40 and out == ""
        assert err.startswith(f"packet-networking: error: {REFUSED[name]}")
        assert err.count("\n") == 1 and "Traceback" not in err
        assert snapshot(root) == {}
        return
    assert code == 0, err
    lines = err.splitlines()
    if name in WARNED:
        assert len(lines) == 1 and lines[0].startswith(WARNED[name]), err
    else:
        assert lines == [], err
    files = texts(root)
    primary, v6, alias, private = expected_addresses(doc)
    assert has_address(files, primary["address"], primary["cidr"])
    assert routes_via(files, primary)
    if v6:
        assert has_address(files, v6["address"], v6["cidr"])
        assert routes_via(files, v6)
    if alias:
        assert has_address(files, alias["address"], alias["cidr"])
    if private:
        for subnet in doc.get("private_subnets", ["10.0.0.0/8"]):
            assert same_file(files, subnet, private["gateway"]), subnet
    for address in doc["network"]["addresses"]:
        if not address.get("management", False) or not address.get("enabled", True):
            assert not any(address["address"] in t for t in files.values()), address["address"]
    assert files["etc/hostname"].strip() == doc["hostname"]
    assert any("802.3ad" in t for t in files.values())            # every sample is mode 4
    for iface in doc["network"]["interfaces"]:
        assert any(iface["mac"].lower() in t.lower() for p, t in files.items()
                   if iface["name"] in p), iface
    bonds = {i.get("bond", "bond0") for i in doc["network"]["interfaces"]}
    for bond in bonds:
        assert any(bond in p for p in files), bond


@pytest.mark.parametrize("name", [n for n in metadata_samples() if n not in REFUSED])
def test_metadata_sample_output_is_deterministic_and_idempotent(run_sample, name):
    _, first_root, (code, _, err) = run_sample(name, "rocky 8", "first")
    assert code == 0, err
    first = snapshot(first_root)
    _, second_root, (code, _, _) = run_sample(name, "rocky 8", "second")
    assert code == 0 and snapshot(second_root) == first
    _, again_root, (code, _, _) = run_sample(name, "rocky 8", "first")
    assert code == 0 and snapshot(again_root) == first


def test_refused_samples_are_known():
    """The expectations above name real files (a renamed sample must not pass silently)."""
    if SAMPLES is None:
        pytest.skip("../shared/samples is not next to the repository")
    assert set(REFUSED) <= set(metadata_samples())
    assert len(metadata_samples()) >= 6


# --- lshw captures ------------------------------------------------------------------------
EXPECTED_NICS = {
    "RackHD-on-tasks__multi-nic-lshw.json": [
        ("em3", "f8:bc:12:0b:0b:40", "igb"), ("em4", "f8:bc:12:0b:0b:41", "igb")],
    "local-virtio-vm__lshw-class-network.json": [("eth0", "02:fc:00:00:00:01", "virtio_net")],
    "local-virtio-vm__lshw-class-network.xml": [("eth0", "02:fc:00:00:00:01", "virtio_net")],
    "local-virtio-vm__lshw-full.xml": [("eth0", "02:fc:00:00:00:01", "virtio_net")],
    "metal-toolbox-ironlib__asrr-e3c246d4i-nl__lshw.json": [
        ("eno1", "b4:96:91:70:26:c8", "i40e"), ("eno2", "b4:96:91:70:26:c8", "i40e"),
        ("enxee6b7558e887", "ee:6b:75:58:e8:87", "cdc_ether")],
    "metal-toolbox-ironlib__dell-r6515__lshw.json": [
        ("enp65s0f0", "40:a6:b7:4e:8a:a0", "i40e"), ("enp65s0f1", "40:a6:b7:4e:8a:a0", "i40e")],
    "metal-toolbox-ironlib__supermicro-x11dph-t__lshw.json": [
        ("eno1", "ac:1f:6b:dc:19:c2", "i40e"), ("eno2", "ac:1f:6b:dc:19:c3", "i40e"),
        ("enp216s0f0", "0c:42:a1:3d:bd:e0", "mlx5_core"),
        ("enp216s0f1", "0c:42:a1:3d:bd:e0", "mlx5_core")],
    # a laptop: tun devices and a wlan0 at the root without bus info, no physical port
    "redhat-cip-hardware__samples-lshw.xml": [],
}


@pytest.mark.parametrize("name", lshw_samples())
def test_every_lshw_sample_parses_to_its_physical_ports(samples, name):
    found = nics.load_nics_file((samples / name).read_bytes(), name)
    assert name in EXPECTED_NICS, f"new sample {name}: add its expected NICs"
    assert [(n.name, n.mac, n.driver) for n in found] == EXPECTED_NICS[name]


def _doc_for(macs, bonded=True):
    from helpers import make_metadata
    doc = make_metadata()
    doc["network"]["bonding"]["mac"] = macs[0]
    doc["network"]["interfaces"] = [
        {"name": f"eth{i}", "mac": mac.upper(), "bond": "bond0"} for i, mac in enumerate(macs)]
    if not bonded:
        doc["network"]["bonding"]["link_aggregation"] = "individual"
    return doc


@pytest.mark.parametrize("name, macs, names", [
    ("local-virtio-vm__lshw-class-network.xml", ["02:fc:00:00:00:01"], ["eth0"]),
    ("RackHD-on-tasks__multi-nic-lshw.json", ["f8:bc:12:0b:0b:40", "f8:bc:12:0b:0b:41"],
     ["em3", "em4"]),
    ("metal-toolbox-ironlib__supermicro-x11dph-t__lshw.json",
     ["ac:1f:6b:dc:19:c2", "ac:1f:6b:dc:19:c3"], ["eno1", "eno2"]),
])
def test_lshw_capture_through_the_cli(samples, tmp_path, rootfs, name, macs, names):
    from helpers import write_metadata
    meta = write_metadata(tmp_path / "m.json", _doc_for(macs))
    code, out, err = run_cli(["-M", meta, "--nics-file", samples / name, "-o", "centos 7",
                              "-t", rootfs, "--resolvers", "192.0.2.53"])
    assert (code, err) == (0, ""), err
    files = texts(rootfs)
    for mac, nic in zip(macs, names):
        assert any(mac in t.lower() for p, t in files.items() if nic in p), nic


def test_capture_of_bonded_slaves_sharing_a_mac_is_exit_50_with_advice(samples, tmp_path,
                                                                      rootfs):
    """lshw shows the bond's MAC on both slaves: a saved capture cannot tell them apart."""
    from helpers import write_metadata
    meta = write_metadata(tmp_path / "m.json",
                          _doc_for(["40:a6:b7:4e:8a:a0", "40:a6:b7:4e:8a:a1"]))
    code, out, err = run_cli(["-M", meta, "--nics-file",
                              samples / "metal-toolbox-ironlib__dell-r6515__lshw.json",
                              "-o", "centos 7", "-t", rootfs], subprocess=True)
    assert code == 50 and out == "" and err.count("\n") == 1
    assert "matches several NICs (enp65s0f0, enp65s0f1)" in err and "permanent" in err
    assert snapshot(rootfs) == {}
