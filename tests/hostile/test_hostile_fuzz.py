"""Property-based fuzzing of the metadata document and the NIC list, through the CLI.

Any input either ends in a documented exit code with one line on stderr and an
untouched (empty) target, or writes files that the real parsers accept: ``ifup
--no-act`` for /etc/network/interfaces, the netplan generator for netplan YAML, libnm
for NetworkManager keyfiles, strict line checks (and ``bash -n``) for the ifcfg files
network-scripts sources, and systemd unit syntax for networkd. Never a traceback.

Profiles (tests/hostile/conftest.py): ``default`` a few hundred examples in all,
``HYPOTHESIS_PROFILE=long`` thousands.
"""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from .harness import FAILURE_CODES, REPO, run_in_process, snapshot

MAC_POOL = ["b8:ce:f6:10:20:30", "b8:ce:f6:10:20:31", "0c:c4:7a:aa:00:10", "0c:c4:7a:aa:00:11",
            "e4:43:4b:d0:7b:50", "e4:43:4b:d0:7b:51"]
HOSTILE = ["", " ", "\n", "a\nb", "a b", "a=b", "a#b", "a;b", "$(x)", "`x`", "a'b", 'a"b',
           "a\\b", "a/b", "..", "../x", "a:b", "a%b", "a\tb", "a\rb", "\u00e9", "a\u2028b",
           "x" * 300, "-a", ".a", "a.", "a\x00b"]
YAMLISH = ["on", "off", "yes", "no", "true", "false", "null", "y", "n", "1e3", "0x1f", "1.5",
           "010", "Inf", "NaN", "0", "123", "1_000"]

def mostly(good, bad, percent_bad=4):
    """``good``, and ``bad`` ``percent_bad`` times in a hundred: with a dozen fields, most
    examples must still get through validation, or the parsers would rarely see a file."""
    # hypothesis favours (and shrinks towards) small numbers: keep them for ``good``
    return st.integers(0, 99).flatmap(lambda n: bad if n >= 100 - percent_bad else good)


def now_and_then(draw, one_in):
    """True about once in ``one_in`` draws (False is what hypothesis shrinks to)."""
    return draw(st.integers(0, one_in - 1)) == one_in - 1


SAFE_NAME = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,14}\Z").filter(lambda n: ".." not in n)
NAME = mostly(st.one_of(SAFE_NAME, st.sampled_from(YAMLISH)),
              st.one_of(st.sampled_from(HOSTILE), st.text(max_size=16)))
LABEL = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
HOSTNAME = mostly(st.one_of(st.lists(LABEL, min_size=1, max_size=5).map(".".join).filter(
                      lambda h: len(h) <= 253),
                            st.sampled_from(["web-01.example.net", "a", "1", "x" * 63])),
                  st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30)))
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.text(max_size=8),
                 st.just([]), st.just({}))


def spell_mac(mac, style):
    digits = mac.replace(":", "")
    return {0: mac, 1: mac.upper(), 2: mac.replace(":", "-"), 3: digits,
            4: f"{digits[:4]}.{digits[4:8]}.{digits[8:]}", 5: f" {mac}\n"}[style]


REALISTIC = [(4, True, "198.51.100.11", 31), (6, True, "2001:db8:4a:7f00::1", 127),
             (4, False, "10.70.12.3", 31), (4, True, "203.0.113.10", 29),
             (4, False, "10.1.2.3", 25), (6, True, "2604:1380:1:2::5", 64)]


@st.composite
def addresses(draw):
    if not now_and_then(draw, 8):  # mostly a realistic address, with its usual gateway
        family, public, ip_text, prefix = draw(st.sampled_from(REALISTIC))
        ip = ipaddress.ip_address(ip_text)
    else:
        family = draw(st.sampled_from([4, 4, 6]))
        ip = draw(st.ip_addresses(v=family))
        bits = 32 if family == 4 else 128
        prefix = draw(st.one_of(st.integers(0, bits), st.integers(-2, bits + 3)))
        public = draw(st.booleans())
    bits = 32 if family == 4 else 128
    entry = {"address_family": family, "address": str(ip), "public": public,
             "management": draw(st.sampled_from([True] * 6 + [False])),
             "enabled": draw(st.sampled_from([True] * 6 + [False]))}
    if draw(st.booleans()):
        entry["cidr"] = prefix
    else:
        entry["netmask"] = (str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).netmask)
                            if 0 <= prefix <= bits else draw(st.text(max_size=15)))
    if 0 <= prefix <= bits:
        network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
        gateway = draw(st.sampled_from(["network"] * 12 + ["next"] * 6 +
                                       ["self", "random", "none", "junk"]))
        value = {"network": network.network_address,
                 "next": network.network_address + (1 if network.num_addresses > 1 else 0),
                 "self": ip, "random": draw(st.ip_addresses(v=family)), "none": None,
                 "junk": draw(st.sampled_from(HOSTILE))}[gateway]
        if value is not None:
            entry["gateway"] = str(value)
    if now_and_then(draw, 25):  # now and then, one field of the wrong kind
        entry[draw(st.sampled_from(sorted(entry)))] = draw(JUNK)
    return entry


@st.composite
def scenarios(draw):
    """(metadata document, NIC file bytes, extra CLI arguments)."""
    count = draw(st.integers(1, 4))
    macs = draw(st.permutations(MAC_POOL))[:count]
    layout = draw(mostly(st.sampled_from(["bonded", "bonded", "mlag_ha", "individual", None]),
                         st.sampled_from(["lacp", "", "BONDED"]), percent_bad=3))
    bond_names = draw(st.lists(mostly(st.sampled_from(["bond0", "bond1"]), NAME, percent_bad=8),
                               min_size=1, max_size=2))
    dhcp = now_and_then(draw, 6)
    interfaces = []
    for i, mac in enumerate(macs):
        iface = {"name": draw(mostly(st.just(f"eth{i}"), NAME, percent_bad=8)),
                 "mac": spell_mac(mac, draw(st.integers(0, 5)))}
        if layout != "individual" or draw(st.booleans()):
            iface["bond"] = draw(st.sampled_from(bond_names))
        if dhcp:
            iface["dhcp"] = True
        interfaces.append(iface)
    doc = {
        "id": "X", "hostname": draw(HOSTNAME), "plan": draw(st.sampled_from(
            ["c3.small.x86", "x1.small.x86", "baremetal_hua", ""])),
        "network": {
            "bonding": {"mode": draw(mostly(st.sampled_from([4, 5, 1, 0, 2, 3, 6]),
                                            st.integers(-1, 8))),
                        "link_aggregation": layout, "mac": macs[0]},
            "interfaces": interfaces,
            "addresses": draw(st.just([]) if now_and_then(draw, 15)
                              else st.lists(addresses(), min_size=1, max_size=4)),
        },
    }
    if now_and_then(draw, 4):
        doc["private_subnets"] = draw(st.lists(mostly(
            st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]),
            st.text(max_size=18)), max_size=3))
    # the NICs of the machine: most metadata MACs, sometimes a spare or a duplicate
    nics = []
    for i, mac in enumerate(macs):
        if now_and_then(draw, 8):
            continue
        nics.append({"name": draw(mostly(st.just(f"enp{i}s0"), NAME, percent_bad=8)),
                     "mac": spell_mac(mac, draw(st.integers(0, 4))),
                     "driver": draw(mostly(st.just("i40e"), st.text(max_size=10), 20))})
    if now_and_then(draw, 6):
        nics.append({"name": "spare0", "mac": "02:00:00:00:00:99", "driver": "igb"})
    if nics and now_and_then(draw, 12):
        nics.append(dict(nics[0], name="dup0"))
    if draw(st.booleans()):
        nic_bytes = json.dumps(nics).encode()
    else:
        nic_bytes = lshw_xml(nics)
    resolvers = draw(mostly(st.one_of(st.just("147.75.207.207"),
                                      st.just("147.75.207.207,2001:4860:4860::8888"),
                                      st.lists(st.ip_addresses(), min_size=1, max_size=3).map(
                                          lambda ips: ",".join(map(str, ips)))),
                            st.sampled_from(HOSTILE), percent_bad=3))
    return doc, nic_bytes, ["--resolvers", resolvers]


def lshw_xml(nics):
    nodes = []
    for i, nic in enumerate(nics):
        name = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", nic["name"])
        driver = re.sub(r"[\x00-\x1f\ud800-\udfff\ufffe\uffff\"<&]", "", nic["driver"])
        nodes.append(f'<node id="network:{i}" class="network"><businfo>pci@0000:0{i}:00.0'
                     f'</businfo><logicalname>{escape(name)}</logicalname><serial>'
                     f'{escape(nic["mac"])}</serial><configuration><setting id="driver" '
                     f'value="{driver}"/></configuration></node>')
    return ("<?xml version=\"1.0\"?><list>" + "".join(nodes) + "</list>").encode("utf-8")


# --- running one example ---------------------------------------------------------------

def run_example(doc, nic_bytes, extra, os_option, renderer):
    """Run the CLI on a fresh empty root; return (result, root or None, tmp dir)."""
    tmp = Path(tempfile.mkdtemp(prefix="pn-fuzz-"))
    root = tmp / "root"
    root.mkdir()
    meta = tmp / "metadata.json"
    meta.write_text(json.dumps(doc))
    nics = tmp / "nics"
    nics.write_bytes(nic_bytes)
    args = ["-M", str(meta), "--nics-file", str(nics), "-t", str(root), "-o", os_option,
            "--renderer", renderer, *extra]
    result = run_in_process(args)
    note(f"exit {result.code}: {result.stderr.strip()}")
    event(f"exit {result.code}")
    assert result.code == 0 or result.code in FAILURE_CODES, str(result)
    assert "Traceback" not in result.stderr, str(result)
    if result.code != 0:
        assert result.stderr.count("\n") == 1 and result.stdout == "", str(result)
        assert snapshot(root) == {".": snapshot(root)["."]}, "a failed run wrote files"
    return result, root, tmp


def files_of(root):
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def check_common(root):
    for rel, path in files_of(root).items():
        data = path.read_bytes()
        text = data.decode("utf-8")
        assert text.endswith("\n"), f"{rel}: no final newline"
        bad = re.search(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]", text)
        assert not bad, f"{rel}: control character {bad.group()!r}"
        assert not re.search(r"[^\x20-\x7e\n\t]", text), f"{rel}: non-ASCII text"


KV_LINE = re.compile(r"""[A-Z][A-Z0-9_]*=("[^"$`\\]*"|'[^']*'|[^\s"'$`\\;&|<>()#]*)""")


def check_shell_kv(path):
    """ifcfg-style files are sourced by bash: only KEY=VALUE lines and comments."""
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        assert KV_LINE.fullmatch(line), f"{path.name}: not a plain KEY=VALUE line: {line!r}"
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


UNIT_LINE = re.compile(r"\[[A-Za-z][A-Za-z0-9]*\]|[A-Za-z][A-Za-z0-9]*=[^\n]*")


def check_unit(path):
    for line in path.read_text().splitlines():
        if line.startswith(("#", ";")) or not line.strip():
            continue
        assert UNIT_LINE.fullmatch(line), f"{path.name}: not a unit file line: {line!r}"


def require(tool):
    found = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}")
                                        if os.access(p, os.X_OK)), None)
    if found is None:
        if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
            pytest.fail(f"{tool} is missing and PN_REQUIRE_VALIDATORS=1")
        pytest.skip(f"{tool} is not installed")
    return found


def check_eni(root, tmp):
    ifup = require("ifup")
    interfaces = root / "etc/network/interfaces"
    assert interfaces.is_file()
    state = tmp / "ifstate"
    state.mkdir(exist_ok=True)
    proc = subprocess.run([ifup, "--no-act", "--force", "-i", str(interfaces), "-a",
                           "--state-dir", str(state)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in proc.stderr.splitlines() if line.startswith("ifup:")]
    assert proc.returncode == 0 and not complaints, (
        f"ifup rejected it:\n{proc.stderr}\n{interfaces.read_text()}")


NETPLAN_GENERATORS = ("/usr/libexec/netplan/generate", "/usr/lib/netplan/generate",
                      "/lib/netplan/generate")


def check_netplan(root):
    generator = next((g for g in NETPLAN_GENERATORS if os.access(g, os.X_OK)), None)
    command = [generator] if generator else [require("netplan"), "generate"]
    yamls = list((root / "etc/netplan").glob("*.yaml"))
    assert yamls
    for path in yamls:
        assert isinstance(yaml.safe_load(path.read_text()), dict)
    proc = subprocess.run(command + ["--root-dir", str(root)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, f"netplan refused it:\n{proc.stderr}\n{yamls[0].read_text()}"
    shutil.rmtree(root / "run", ignore_errors=True)


SYSTEM_PYTHON = "/usr/bin/python3"
NM_VALIDATOR = REPO / "tests" / "support" / "nm_validate.py"


def check_keyfiles(root):
    if not (os.access(SYSTEM_PYTHON, os.X_OK) and NM_VALIDATOR.exists()):
        if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
            pytest.fail("libnm validator unavailable and PN_REQUIRE_VALIDATORS=1")
        pytest.skip("libnm validator unavailable")
    directory = root / "etc/NetworkManager/system-connections"
    proc = subprocess.run([SYSTEM_PYTHON, str(NM_VALIDATOR), str(directory)],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode == 3:
        if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
            pytest.fail(f"libnm unavailable: {proc.stderr}")
        pytest.skip(f"libnm unavailable: {proc.stderr.strip()}")
    assert proc.returncode == 0, f"libnm refused it:\n{proc.stdout}\n{proc.stderr}"


def fuzz(os_option, renderer, validate):
    @given(scenarios())
    def run(case):
        doc, nic_bytes, extra = case
        result, root, tmp = run_example(doc, nic_bytes, extra, os_option, renderer)
        try:
            if result.code == 0:
                check_common(root)
                validate(root, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return run


def validate_ifcfg(root, tmp):
    for path in files_of(root).values():
        if path.parent.name == "network-scripts" and path.name.startswith(("ifcfg-", "route")) \
                or path.parent.name == "sysconfig" or path.name.startswith("ifroute-"):
            if path.name.startswith(("route-", "route6-", "ifroute-", "routes")):
                continue  # "CIDR via GW dev DEV" lines, not shell
            check_shell_kv(path)


def validate_networkd(root, tmp):
    units = [p for p in files_of(root).values()
             if p.suffix in (".network", ".netdev", ".link")]
    assert units
    for path in units:
        check_unit(path)


def test_fuzz_ifcfg_centos():
    fuzz("centos 7", "ifcfg-rh", validate_ifcfg)()


def test_fuzz_ifcfg_suse():
    fuzz("opensuse 15.5", "wicked", validate_ifcfg)()


def test_fuzz_eni_debian():
    fuzz("debian 12", "eni", check_eni)()


def test_fuzz_eni_alpine():
    fuzz("alpine 3.18", "eni", check_eni)()


def test_fuzz_netplan_ubuntu():
    fuzz("ubuntu 22.04", "netplan", lambda root, tmp: check_netplan(root))()


def test_fuzz_networkd_flatcar():
    fuzz("flatcar 3510.2.0", "networkd", validate_networkd)()


def test_fuzz_keyfiles_rocky():
    fuzz("rocky 9", "networkmanager", lambda root, tmp: check_keyfiles(root))()


@settings(max_examples=25)
@given(st.binary(max_size=2000))
def test_fuzz_raw_metadata_bytes(data):
    tmp = Path(tempfile.mkdtemp(prefix="pn-fuzz-"))
    try:
        (tmp / "root").mkdir()
        (tmp / "m").write_bytes(data)
        (tmp / "n").write_bytes(b"[]")
        result = run_in_process(["-M", str(tmp / "m"), "--nics-file", str(tmp / "n"), "-t",
                                 str(tmp / "root"), "-o", "centos 7", "--resolvers", "1.1.1.1"])
        assert result.code in FAILURE_CODES and "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@settings(max_examples=25)
@given(st.binary(max_size=2000))
def test_fuzz_raw_nic_bytes(data):
    tmp = Path(tempfile.mkdtemp(prefix="pn-fuzz-"))
    try:
        (tmp / "root").mkdir()
        (tmp / "m").write_bytes((REPO / "examples/metadata.json").read_bytes())
        (tmp / "n").write_bytes(data)
        result = run_in_process(["-M", str(tmp / "m"), "--nics-file", str(tmp / "n"), "-t",
                                 str(tmp / "root"), "-o", "centos 7", "--resolvers", "1.1.1.1"])
        assert result.code in FAILURE_CODES and "Traceback" not in result.stderr
        assert result.stderr.count("\n") == 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
