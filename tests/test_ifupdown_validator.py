"""Every /etc/network/interfaces the tool writes is read by the real ifupdown.

``ifup --no-act --force -i FILE -a --state-dir DIR`` (Debian's ifupdown) parses the file
and prints the commands it would run, touching nothing: the tests check that it
succeeds and that those commands are the ones an operator expects (addresses with
prefixes, default routes, private routes, the bond's MAC, DHCP).

Alpine's files are written for ifupdown-ng; Debian's ifupdown must parse them too. When
``PN_IFUPDOWN_NG`` names ifupdown-ng's ``ifquery`` (e.g. from ``apt-get download
ifupdown-ng && dpkg -x ifupdown-ng_*.deb DIR``, then ``DIR/sbin/ifquery``: the package
conflicts with ifupdown, so it is not installed), ifupdown-ng's own parser checks them too.

The real-world samples in ../shared/samples run through the CLI for one version of
each family.
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from test_debian import (ALPINE_VERSIONS, DEBIAN_VERSIONS, LAYOUTS, OS_NAMES, UBUNTU_VERSIONS,
                         load_doc, render)

IFUP = shutil.which("ifup") or next(
    (p for p in ("/usr/sbin/ifup", "/sbin/ifup") if os.access(p, os.X_OK)), None)
IFUPDOWN_NG_IFQUERY = os.environ.get("PN_IFUPDOWN_NG")
SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"


def require_ifup():
    if IFUP is None:
        if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
            pytest.fail("ifup (package ifupdown) is missing and PN_REQUIRE_VALIDATORS=1")
        pytest.skip("ifup (package ifupdown) is not installed")
    return IFUP


def ifup_no_act(path, tmp_path):
    """Run the real ifup on ``path`` without acting; return what it would run."""
    state = tmp_path / "ifstate"
    state.mkdir(exist_ok=True)
    proc = subprocess.run([require_ifup(), "--no-act", "--force", "-i", str(path), "-a",
                           "--state-dir", str(state)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    # the commands it would run go to stderr; its own complaints start with "ifup:"
    assert proc.returncode == 0, f"ifup rejected {path}:\n{proc.stderr}\n{path.read_text()}"
    complaints = [l for l in proc.stderr.splitlines() if l.startswith("ifup:")]
    assert not complaints, complaints
    return re.sub(r"[ \t]+", " ", proc.stderr + proc.stdout)


def expected_commands(layout, alpine):
    """Regexes of commands ifup must print for ``layout`` (as Debian's ifupdown reads it)."""
    spec = LAYOUTS[layout]
    name = (lambda n: n) if alpine else (lambda n: OS_NAMES.get(n, n))
    wanted = []
    for bond, (_, mac) in spec["bonds"].items():
        wanted.append(rf"ip link set dev {bond} address {mac}")
    for dev in spec["dhcp"]:
        wanted.append(rf"(dhclient|dhcpcd|udhcpc|pump)\b.*\b{name(dev)}\b")
    for dev in spec["manual"]:
        wanted.append(rf"ip link set dev {name(dev)} up")
    if spec["device"]:
        device = name(spec["device"])
        address, netmask, prefix, gateway = spec["ipv4"]
        # Debian's ifupdown turns an Alpine "address A/31" into A/255.255.255.254
        mask = f"({prefix}|{re.escape(netmask)})" if alpine else re.escape(netmask)
        wanted.append(rf"ip addr add {re.escape(address)}/{mask} .*dev {device}")
        wanted.append(rf"ip route add default via {re.escape(gateway)} dev {device}")
        if spec["ipv6"]:
            address6, prefix6, gateway6 = spec["ipv6"]
            wanted.append(rf"ip -6 addr add {re.escape(address6)}/{prefix6} dev {device}")
            wanted.append(rf"ip -6 route (add|replace) default via {re.escape(gateway6)} "
                          rf"dev {device}")
        if spec["alias"] and not alpine:  # Debian's ifupdown applies one address per stanza
            alias, alias_mask = spec["alias"][:2]
            wanted.append(rf"ip addr add {re.escape(alias)}/{re.escape(alias_mask)} "
                          rf".*dev {device}:0")
        for net, via in spec["routes"]:
            wanted.append(rf"ip route replace {re.escape(net)} via {re.escape(via)} dev {device}")
    return wanted


def check_with_ifup(tmp_path, files, layout, alpine):
    path = tmp_path / "interfaces"
    path.write_text(files["etc/network/interfaces"])
    out = ifup_no_act(path, tmp_path)
    for pattern in expected_commands(layout, alpine):
        assert re.search(pattern, out), f"ifup would not run /{pattern}/:\n{out}"
    assert not re.search(r"^\s*route (add|del)\b", out, re.M)
    return out


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("os_name", DEBIAN_VERSIONS + UBUNTU_VERSIONS + ALPINE_VERSIONS)
def test_ifup_accepts_every_file(tmp_path, os_name, layout):
    root = tmp_path / "root"
    root.mkdir()
    files = render(root, load_doc(layout), os_name)
    check_with_ifup(tmp_path, files, layout, alpine=os_name.startswith("alpine"))


@pytest.mark.parametrize("mode", range(7))
@pytest.mark.parametrize("os_name", ["debian 10", "ubuntu 24.04", "alpine 3.20"])
def test_ifup_accepts_every_bonding_mode(tmp_path, os_name, mode):
    root = tmp_path / "root"
    root.mkdir()
    files = render(root, load_doc("two-bonds", mode=mode), os_name)
    check_with_ifup(tmp_path, files, "two-bonds", alpine=os_name.startswith("alpine"))


@pytest.mark.parametrize("layout", ["bonded", "two-bonds", "private-only", "individual", "dhcp"])
@pytest.mark.parametrize("os_name", ["debian 12", "ubuntu 22.04", "alpine 3.20"])
def test_ifup_staggers_members_and_turns_router_advertisements_off(tmp_path, os_name, layout):
    """As ifup runs the file: every bond member after its bond's first sleeps 4 s first;
    static layouts write accept_ra=0 for every device (ifupdown's own sysctl for an inet6
    static stanza, else the kernel setting), DHCP layouts leave it alone."""
    alpine = os_name.startswith("alpine")
    root = tmp_path / "root"
    root.mkdir()
    files = render(root, load_doc(layout), os_name)
    out = check_with_ifup(tmp_path, files, layout, alpine)
    spec = LAYOUTS[layout]
    name = (lambda n: n) if alpine else (lambda n: OS_NAMES.get(n, n))
    assert out.count("sleep 4") == sum(len(m) - 1 for m, _ in spec["bonds"].values())
    devices = {name(n) for n in [d for m, _ in spec["bonds"].values() for d in m]
               + list(spec["bonds"]) + spec["manual"] + spec["dhcp"]
               + ([spec["device"]] if spec["device"] else [])}
    for dev in devices:
        knob = f"/proc/sys/net/ipv6/conf/{dev}/accept_ra"
        written = (f"test ! -w {knob} || echo 0 > {knob}" in out
                   or f"sysctl -q -e -w net.ipv6.conf.{dev}.accept_ra=0" in out)
        assert written == (spec["device"] is not None), (dev, out)


@pytest.mark.skipif(not IFUPDOWN_NG_IFQUERY, reason="PN_IFUPDOWN_NG (ifupdown-ng's ifquery) "
                    "is not set: Alpine files checked with Debian's ifupdown only")
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_ifupdown_ng_reads_alpine_files_as_meant(tmp_path, layout):
    """ifupdown-ng's parser sees every address, gateway, member and option we wrote."""
    root = tmp_path / "root"
    root.mkdir()
    files = render(root, load_doc(layout), "alpine 3.20")
    path = tmp_path / "interfaces"
    path.write_text(files["etc/network/interfaces"])

    def query(iface, prop):
        proc = subprocess.run([IFUPDOWN_NG_IFQUERY, "-i", str(path), "-p", prop, iface],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
        return proc.stdout.split("\n") if prop in ("up", "down") else proc.stdout.split()

    listed = subprocess.run([IFUPDOWN_NG_IFQUERY, "-i", str(path), "-L", "-a"],
                            stdout=subprocess.PIPE, text=True, timeout=60, check=True).stdout
    spec = LAYOUTS[layout]
    for bond, (members, mac) in spec["bonds"].items():
        assert bond in listed.split()
        assert query(bond, "bond-members") == members
        assert query(bond, "hwaddress") == [mac]
        assert "bond" in query(bond, "use")
    for dev in spec["dhcp"]:
        assert "dhcp" in query(dev, "use")
    if spec["device"]:
        address, _, prefix, gateway = spec["ipv4"]
        expected = [f"{address}/{prefix}"]
        gateways = [gateway]
        if spec["alias"]:
            expected.append(f"{spec['alias'][0]}/{spec['alias'][2]}")
        if spec["ipv6"]:
            expected.append(f"{spec['ipv6'][0]}/{spec['ipv6'][1]}")
            gateways.append(spec["ipv6"][2])
        assert query(spec["device"], "address") == expected
        assert query(spec["device"], "gateway") == gateways
        assert "static" in query(spec["device"], "use")
        ups = [l for l in query(spec["device"], "up") if l]
        assert ups == [f"ip route replace {n} via {v} dev {spec['device']}"
                       for n, v in spec["routes"]]


# --- the real-world samples through the CLI -------------------------------------------------

#: Samples the tool must refuse (exit 40), with the words its one-line error must hold.
REJECTED_SAMPLES = {
    # addresses: [] and no interface asks for DHCP
    "metal-toolbox-hollow-metadataservice__instance-c": "nothing can be configured",
}


def sample_metadata():
    if not SAMPLES.is_dir():
        return []
    return sorted(p.name for p in SAMPLES.glob("*.json")
                  if "metadata" in p.name or p.name.startswith("tinkerbell"))


@pytest.mark.parametrize("os_name", ["debian 12", "ubuntu 22.04", "alpine 3.20"])
@pytest.mark.parametrize("sample", sample_metadata() or ["(no samples)"])
def test_samples_through_the_cli(tmp_path, capsys, sample, os_name):
    """No lshw capture shares a MAC with a sample document: the NICs are the documents'
    own MACs under predictable names (eno1, eno2...)."""
    from packetnetworking import cli

    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples is not next to the repository")
    doc = json.loads((SAMPLES / sample).read_text())
    nics = [{"name": f"eno{i + 1}", "mac": iface["mac"], "driver": "i40e"}
            for i, iface in enumerate(doc["network"]["interfaces"])]
    nic_file = tmp_path / "nics.json"
    nic_file.write_text(json.dumps(nics))
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["-M", str(SAMPLES / sample), "--nics-file", str(nic_file), "-o", os_name,
                  "-t", str(root), "--renderer", "eni", "--resolvers", "147.75.207.207"])
    err = capsys.readouterr().err
    rejected = next((why for prefix, why in REJECTED_SAMPLES.items()
                     if sample.startswith(prefix)), None)
    if rejected:  # bad input: one line naming the problem, exit 40, nothing written
        assert exit_info.value.code == 40, err
        assert err.count("\n") == 1 and rejected in err, err
        assert not list(root.iterdir())
        return
    assert exit_info.value.code == 0, err
    text = (root / "etc/network/interfaces").read_text()
    out = ifup_no_act(root / "etc/network/interfaces", tmp_path)
    management = [a for a in doc["network"]["addresses"]
                  if a.get("management") and a.get("enabled", True)]
    first_v4 = next((a for a in management if a["address_family"] == 4 and a.get("public")),
                    next(a for a in management if a["address_family"] == 4))
    assert re.search(rf"ip addr add {re.escape(first_v4['address'])}/", out), out
    # "add" from a gateway line, "replace" from Alpine's on-link route (up line)
    assert re.search(rf"ip route (add|replace) default via {re.escape(first_v4['gateway'])} ",
                     out), out
    for elastic in (a for a in doc["network"]["addresses"] if not a.get("management")):
        assert elastic["address"] not in text, "elastic IPs are not configured"
    assert "bond0" in text and "10.0.0.0/8" in text
