"""The commands of examples/README.md and the README's quick start, run as written, with
both bundled NIC files.

Each command is taken from the page itself (a command the page shows cannot go stale);
only its target directory is replaced by a temporary one, prepared as the command line
prepares it (a copy of the example target root, ``examples/target``). What the page tells
the reader to look at is checked below, written out by hand for each example.
"""
import re
import shlex
import shutil
from pathlib import Path

import pytest

from support.helpers import REPO, run_cli, snapshot
from test_debian import parse_eni

EXAMPLES = REPO / "examples"
PAGE = EXAMPLES / "README.md"
#: The example target root: what a mounted Debian 12 image has that the tool reads.
TARGET = EXAMPLES / "target"
NIC_FILES = ("examples/lshw.xml", "examples/nics.json")
RESOLVER = "192.0.2.53"


def command_lines(text, program):
    """``[(argv, words of the commands before it on its line)]`` of every ``program``
    command in the ``sh`` blocks of ``text``."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            parts = [shlex.split(part) for part in line.split("&&")]
            for i, words in enumerate(parts):
                if words and words[0] == program:
                    found.append((words[1:], parts[:i]))
    return found


def page_commands():
    """``{metadata file: argv}`` of every ``packet-networking`` command on the page."""
    return {argv[argv.index("-M") + 1]: argv
            for argv, _ in command_lines(PAGE.read_text(), "packet-networking")}


def assert_prepares_the_example_target(argv, before):
    """The line creates the -t directory and copies the example target root into it."""
    target = argv[argv.index("-t") + 1]
    assert before[-2:] == [["mkdir", "-p", target], ["cp", "-R", "examples/target/.", target]], \
        before


def stanza(stanzas, name, family="inet"):
    """``(method, {option: value})`` of one ``iface`` stanza (None when absent)."""
    found = [(method, dict(options)) for n, fam, method, options in stanzas
             if (n, fam) == (name, family)]
    assert len(found) <= 1, f"{name} {family} twice"
    return found[0] if found else None


def options(stanzas, name, family="inet"):
    """``(method, [(option, value)])`` of one ``iface`` stanza, repeated options kept."""
    [found] = [(method, options) for n, fam, method, options in stanzas
               if (n, fam) == (name, family)]
    return found


def ra_off(name):
    """The line a device of a static layout turns IPv6 router advertisements off with."""
    return ("pre-up", f"test ! -w /proc/sys/net/ipv6/conf/{name}/accept_ra || "
                      f"echo 0 > /proc/sys/net/ipv6/conf/{name}/accept_ra")


def check_members(stanzas, bond, members):
    """``members`` of ``bond``, in the order they come up: ``inet manual`` with RA off and
    ``bond-master``; every member after the first waits ``pre-up sleep 4`` (the original
    tool's staggered bring-up)."""
    for i, member in enumerate(members):
        sleep = [("pre-up", "sleep 4")] if i else []
        assert options(stanzas, member) == (
            "manual", sleep + [ra_off(member), ("bond-master", bond)]), member


BOND_OPTIONS = {"bond-mode": "802.3ad", "bond-miimon": "100", "bond-lacp-rate": "fast",
                "bond-xmit-hash-policy": "layer3+4"}


def check_bonded(root, stanzas, resolver=RESOLVER):
    method, bond0 = stanza(stanzas, "bond0")
    assert method == "static"
    assert {k: bond0[k] for k in ("address", "netmask", "gateway", "bond-slaves", "hwaddress")} \
        == {"address": "198.51.100.11", "netmask": "255.255.255.254",
            "gateway": "198.51.100.10", "bond-slaves": "enp1s0f0 enp1s0f1",
            "hwaddress": "ether b8:ce:f6:10:20:30"}
    assert BOND_OPTIONS.items() <= bond0.items()
    method, v6 = stanza(stanzas, "bond0", "inet6")
    assert (method, v6["address"], v6["netmask"], v6["gateway"], v6["accept_ra"]) == (
        "static", "2001:db8:4a:7f00::1", "127", "2001:db8:4a:7f00::", "0")
    method, alias = stanza(stanzas, "bond0:0")
    assert (method, alias["address"], alias["netmask"]) == ("static", "10.70.12.3",
                                                            "255.255.255.254")
    assert alias["up"] == "ip route replace 10.0.0.0/8 via 10.70.12.2 dev bond0"
    check_members(stanzas, "bond0", ["enp1s0f0", "enp1s0f1"])
    for spare in ("enp2s0f0", "enp2s0f1"):  # not in the metadata: left alone
        assert stanza(stanzas, spare) is None
    rules = (root / "etc/udev/rules.d/70-persistent-net.rules").read_text()
    assert re.findall(r'ATTR\{address\}=="([0-9a-f:]+)".*NAME="(\w+)"', rules) == [
        ("b8:ce:f6:10:20:30", "enp1s0f0"), ("b8:ce:f6:10:20:31", "enp1s0f1")]
    assert "bonding" in (root / "etc/modules").read_text().split()
    assert f"nameserver {resolver}" in (root / "etc/resolv.conf").read_text()
    assert (root / "etc/hostname").read_text().strip() == "web-01.example.net"


def check_individual(root, stanzas):
    method, nic = stanza(stanzas, "enp1s0f0")
    assert (method, nic["address"], nic["netmask"], nic["gateway"]) == (
        "static", "198.51.100.21", "255.255.255.254", "198.51.100.20")
    assert stanza(stanzas, "enp1s0f0", "inet6")[1]["address"] == "2001:db8:4a:7f10::1"
    alias = stanza(stanzas, "enp1s0f0:0")[1]
    assert alias["address"] == "10.70.12.13"
    assert alias["up"] == "ip route replace 10.0.0.0/8 via 10.70.12.12 dev enp1s0f0"
    assert options(stanzas, "enp1s0f1") == ("manual", [ra_off("enp1s0f1")])
    assert not any(name.startswith("bond") for name, *_ in stanzas)
    assert (root / "etc/hostname").read_text().strip() == "worker-01.example.net"


def check_dhcp(root, stanzas):
    method, bond0 = stanza(stanzas, "bond0")
    assert method == "dhcp" and bond0["bond-slaves"] == "enp1s0f0 enp1s0f1"
    assert "address" not in bond0 and "dns-nameservers" not in bond0
    assert [s for s in stanzas if s[2] == "static"] == []
    assert not (root / "etc/resolv.conf").exists()
    assert (root / "etc/hostname").read_text().strip() == "pxe-01.example.net"


def check_mlag(root, stanzas):
    method, bond0 = stanza(stanzas, "bond0")
    assert (method, bond0["bond-slaves"], bond0["address"], bond0["gateway"]) == (
        "static", "enp1s0f0 enp2s0f0", "203.0.113.41", "203.0.113.40")
    assert stanza(stanzas, "bond0", "inet6")[1]["address"] == "2001:db8:4a:7f20::1"
    assert stanza(stanzas, "bond0:0")[1]["address"] == "10.70.12.23"
    method, bond1 = stanza(stanzas, "bond1")
    assert (method, bond1["bond-slaves"], bond1["hwaddress"]) == (
        "manual", "enp1s0f1 enp2s0f1", "ether b8:ce:f6:10:20:31")
    assert "address" not in bond1 and stanza(stanzas, "bond1", "inet6") is None
    assert BOND_OPTIONS.items() <= bond1.items()
    check_members(stanzas, "bond0", ["enp1s0f0", "enp2s0f0"])
    check_members(stanzas, "bond1", ["enp1s0f1", "enp2s0f1"])


def check_private_only(root, stanzas):
    method, bond0 = stanza(stanzas, "bond0")
    assert (method, bond0["address"], bond0["netmask"], bond0["gateway"]) == (
        "static", "10.70.12.34", "255.255.255.248", "10.70.12.33")
    assert bond0["up"] == "ip route replace 10.0.0.0/8 via 10.70.12.33 dev bond0"
    assert stanza(stanzas, "bond0", "inet6") is None and stanza(stanzas, "bond0:0") is None


CHECKS = {
    "examples/metadata.json": check_bonded,
    "examples/metadata-individual.json": check_individual,
    "examples/metadata-dhcp.json": check_dhcp,
    "examples/metadata-mlag.json": check_mlag,
    "examples/metadata-private-only.json": check_private_only,
}


def test_the_page_shows_one_command_per_example():
    documents = {f"examples/{p.name}" for p in EXAMPLES.glob("metadata*.json")}
    assert set(page_commands()) == documents == set(CHECKS)
    for argv, before in command_lines(PAGE.read_text(), "packet-networking"):
        assert_prepares_the_example_target(argv, before)


def test_the_example_target_says_debian_12_as_the_commands_do():
    """Its os-release agrees with the commands' -o, as detect_os's would."""
    fields = dict(line.split("=", 1) for line in
                  (TARGET / "etc/os-release").read_text().splitlines())
    assert (fields["ID"], fields["VERSION_ID"]) == ("debian", '"12"')
    assert sorted(p.relative_to(TARGET).as_posix() for p in TARGET.rglob("*")
                  if p.is_file()) == ["etc/os-release"]
    for argv in page_commands().values():
        assert argv[argv.index("-o") + 1] == "debian 12"


def run_command(argv, root, nic_file, env=None):
    """The page's command with its target replaced by ``root`` (prepared as the page's
    line prepares its own: a copy of the example target) and its NIC file by
    ``nic_file``; paths are taken from the top of the repository."""
    args = list(argv)
    assert args[args.index("--nics-file") + 1] == NIC_FILES[0]
    args[args.index("--nics-file") + 1] = nic_file
    args[args.index("-t") + 1] = str(root)
    args = [str(REPO / a) if a.startswith("examples/") else a for a in args]
    shutil.copytree(TARGET, root, dirs_exist_ok=True)
    return run_cli(args, env=env)


@pytest.mark.parametrize("example", sorted(CHECKS))
def test_example_command_writes_what_the_page_describes(tmp_path, example):
    argv = page_commands()[example]
    trees = []
    for nic_file in NIC_FILES:
        root = tmp_path / Path(nic_file).stem
        root.mkdir()
        code, out, err = run_command(argv, root, nic_file, env={"PACKET_RESOLVERS": RESOLVER})
        assert (code, err) == (0, ""), err
        assert out == f"Configuration files written to root filesystem '{root}'\n"
        interfaces = (root / "etc/network/interfaces").read_text()
        CHECKS[example](root, parse_eni(interfaces)[0])
        assert (root / "etc/os-release").read_bytes() == (TARGET / "etc/os-release").read_bytes()
        trees.append(snapshot(root))
    assert trees[0] == trees[1], "the lshw capture and the JSON NIC list disagree"


def test_the_readme_quick_start_writes_the_bonded_example(tmp_path):
    readme = (REPO / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start"):readme.index("\n## ", readme.index(
        "## Quick start"))]
    [(argv, before)] = command_lines(quick_start, ".venv/bin/packet-networking")
    assert_prepares_the_example_target(argv, before)
    assert argv[argv.index("-M") + 1] == "examples/metadata.json"
    resolver = argv[argv.index("--resolvers") + 1]
    root = tmp_path / "pn-root"
    root.mkdir()
    code, out, err = run_command(argv, root, NIC_FILES[0], env={"PACKET_RESOLVERS": None})
    assert (code, err) == (0, ""), err
    check_bonded(root, parse_eni((root / "etc/network/interfaces").read_text())[0], resolver)
