"""Every /etc/network/interfaces the tool writes is read by the real ifupdown.

``ifup --no-act --force -i FILE -a --state-dir DIR`` (Debian's ifupdown) parses the file
and prints the commands it would run, touching nothing: the tests check that it
succeeds and that those commands are the ones an operator expects (addresses with
prefixes, default routes, private routes, the bond's MAC, DHCP).

ifup's ``dhcp`` method prints the command of the DHCP client it finds (dhclient, pump,
udhcpc, dhcpcd) or, with none installed, only "No DHCP client software found!": the
DHCP cases skip then (fail with ``PN_REQUIRE_VALIDATORS=1``), the static ones still run.

Alpine's files are written for ifupdown-ng; Debian's ifupdown must parse them too, and
ifupdown-ng's own parser (``ifquery``) checks them as well. ifupdown-ng conflicts with
ifupdown in Debian, so .ci/run unpacks its package into
``~/.cache/packet-networking/ifupdown-ng`` (``apt-get download ifupdown-ng`` and
``dpkg-deb -x``) instead of installing it; ``PN_IFUPDOWN_NG`` may name another
``ifquery``, and an installed ifupdown-ng (an ``ifparse`` on the PATH) is used too.

The real-world document shapes (tests/fixtures/documents/) run through the CLI for one
version of each family.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.helpers import document_names, expected_addresses
from support.scenarios import document_through_cli
from test_debian import (ALPINE_VERSIONS, DEBIAN_VERSIONS, LAYOUTS, OS_NAMES, UBUNTU_VERSIONS,
                         load_doc, render)

#: ifup runs with this PATH: a regular user's PATH on Debian has no sbin, where ifup and
#: the DHCP clients live, and ifup looks its DHCP client up on the PATH.
IFUP_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
IFUP = shutil.which("ifup", path=IFUP_PATH)
#: The DHCP clients ifupdown's dhcp method knows, in the order it tries them.
DHCP_CLIENT = next((c for c in ("dhclient", "pump", "udhcpc", "dhcpcd")
                    if shutil.which(c, path=IFUP_PATH)), None)
#: Where .ci/run unpacks ifupdown-ng (see the module docstring).
IFUPDOWN_NG_CACHE = Path("~/.cache/packet-networking/ifupdown-ng").expanduser()


def _ifupdown_ng_ifquery():
    if os.environ.get("PN_IFUPDOWN_NG"):
        return os.environ["PN_IFUPDOWN_NG"]
    cached = IFUPDOWN_NG_CACHE / "sbin" / "ifquery"
    if os.access(cached, os.X_OK):
        return str(cached)
    ifparse = shutil.which("ifparse", path=IFUP_PATH)  # only ifupdown-ng has ifparse
    if ifparse and os.access(Path(ifparse).with_name("ifquery"), os.X_OK):
        return str(Path(ifparse).with_name("ifquery"))
    return None


IFUPDOWN_NG_IFQUERY = _ifupdown_ng_ifquery()


def missing(message):
    """Skip, or fail when CI requires every validator (PN_REQUIRE_VALIDATORS=1)."""
    if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
        pytest.fail(f"{message}, and PN_REQUIRE_VALIDATORS=1 requires it")
    pytest.skip(message)


def require_ifup():
    if IFUP is None:
        missing("ifup (Debian package ifupdown) is not installed")
    return IFUP


def require_dhcp_client():
    if DHCP_CLIENT is None:
        missing("no DHCP client (dhclient, pump, udhcpc or dhcpcd): ifup's dhcp method "
                "needs one (Debian package isc-dhcp-client)")


def require_ifupdown_ng():
    if IFUPDOWN_NG_IFQUERY is None:
        missing(f"ifupdown-ng's ifquery not found in {IFUPDOWN_NG_CACHE} nor PN_IFUPDOWN_NG "
                "(.ci/run unpacks it there: apt-get download ifupdown-ng; dpkg-deb -x "
                f"ifupdown-ng_*.deb {IFUPDOWN_NG_CACHE})")
    return IFUPDOWN_NG_IFQUERY


def ifup_no_act(path, tmp_path):
    """Run the real ifup on ``path`` without acting; return what it would run."""
    state = tmp_path / "ifstate"
    state.mkdir(exist_ok=True)
    proc = subprocess.run([require_ifup(), "--no-act", "--force", "-i", str(path), "-a",
                           "--state-dir", str(state)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                          env=dict(os.environ, PATH=IFUP_PATH))
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
    if LAYOUTS[layout]["dhcp"]:
        require_dhcp_client()
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


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_ifupdown_ng_reads_alpine_files_as_meant(tmp_path, layout):
    """ifupdown-ng's parser sees every address, gateway, member and option we wrote."""
    ifquery = require_ifupdown_ng()
    root = tmp_path / "root"
    root.mkdir()
    files = render(root, load_doc(layout), "alpine 3.20")
    path = tmp_path / "interfaces"
    path.write_text(files["etc/network/interfaces"])

    def query(iface, prop):
        proc = subprocess.run([ifquery, "-i", str(path), "-p", prop, iface],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
        return proc.stdout.split("\n") if prop in ("up", "down") else proc.stdout.split()

    listed = subprocess.run([ifquery, "-i", str(path), "-L", "-a"],
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


# --- the real-world shapes through the CLI ---------------------------------------------------

@pytest.mark.parametrize("os_name", ["debian 12", "ubuntu 22.04", "alpine 3.20"])
@pytest.mark.parametrize("name", document_names())
def test_documents_through_the_cli(tmp_path, capsys, name, os_name):
    """Each document of tests/fixtures/documents with its own MACs under predictable names
    (eno1, eno2...), written for ifupdown and read back by the real ifup."""
    ran = document_through_cli(tmp_path, name, os_name, lambda i: f"eno{i + 1}", capsys,
                               ["--renderer", "eni"])
    if ran is None:  # refused: checked there (one line naming the problem, nothing written)
        return
    doc, _, root = ran
    text = (root / "etc/network/interfaces").read_text()
    out = ifup_no_act(root / "etc/network/interfaces", tmp_path)
    primary = expected_addresses(doc)[0]
    assert re.search(rf"ip addr add {re.escape(primary['address'])}/", out), out
    # "add" from a gateway line, "replace" from Alpine's on-link route (up line)
    assert re.search(rf"ip route (add|replace) default via {re.escape(primary['gateway'])} ",
                     out), out
    for unused in doc["network"]["addresses"]:
        if unused.get("management") is False:
            assert unused["address"] not in text, "elastic IPs are not configured"
    assert "bond0" in text and "10.0.0.0/8" in text
