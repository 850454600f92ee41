"""Hostile metadata documents: each ends with its documented exit code, one line on
stderr, no traceback, and an untouched target root.

Most cases run in-process (``cli.main``, same code path, ~50x faster); a representative
subset also runs as a real ``python -m packetnetworking`` process.
"""
import copy
import json

import pytest

from .harness import (BASE_METADATA, metadata, set_path, del_path, leaf_paths,
                      run_subprocess, written_files)

ADDR = "network.addresses"
IFACE = "network.interfaces"


def edit(*steps):
    """A document built from the example by ``("set", path, value)`` / ``("del", path)``."""
    doc = metadata()
    for step in steps:
        if step[0] == "set":
            set_path(doc, step[1], copy.deepcopy(step[2]))
        else:
            del_path(doc, step[1])
    return doc


def s(path, value):
    return ("set", path, value)


def d(path):
    return ("del", path)


EXAMPLE_TEXT = json.dumps(BASE_METADATA)

# (id, document: dict | str | bytes, expected exit code)
DOCUMENTS = [
    # not JSON at all
    ("empty", b"", 40),
    ("whitespace", b"  \n\t ", 40),
    ("text", "this is not json", 40),
    ("html", "<html><body>502 Bad Gateway</body></html>", 40),
    ("not-utf8", b"\xff\xfe{\x00}\x00", 40),
    ("utf8-bom", b"\xef\xbb\xbf" + EXAMPLE_TEXT.encode(), 40),
    ("nul-bytes", b"\0" * 1000, 40),
    ("truncated-half", EXAMPLE_TEXT[: len(EXAMPLE_TEXT) // 2], 40),
    ("truncated-one-byte", EXAMPLE_TEXT[:-1], 40),
    ("trailing-garbage", EXAMPLE_TEXT + "}", 40),
    ("two-documents", EXAMPLE_TEXT + EXAMPLE_TEXT, 40),
    ("deep-nesting", "[" * 200000 + "]" * 200000, 40),
    ("deep-nesting-object", '{"a":' * 100000 + "1" + "}" * 100000, 40),
    ("huge-integer", EXAMPLE_TEXT[:-1] + ', "big": ' + "9" * 5000 + "}", 40),
    ("huge-integer-mode", json.dumps(metadata())[:-1].replace(
        '"mode": 4', '"mode": ' + "4" * 5000) + "}", 40),
    ("lone-surrogate-hostname", EXAMPLE_TEXT.replace('"web-01.example.net"', '"web\\ud800"'), 40),
    # JSON, but not an object
    ("null", "null", 40),
    ("array", "[]", 40),
    ("array-of-document", "[" + EXAMPLE_TEXT + "]", 40),
    ("string", '"hostname"', 40),
    ("number", "42", 40),
    ("true", "true", 40),
    ("empty-object", "{}", 40),
    # every required field missing in turn
    ("missing-hostname", edit(d("hostname")), 40),
    ("missing-network", edit(d("network")), 40),
    ("missing-interfaces", edit(d(f"{IFACE}")), 40),
    ("missing-interface-name", edit(d(f"{IFACE}[0].name")), 40),
    ("missing-interface-mac", edit(d(f"{IFACE}[1].mac")), 40),
    ("missing-addresses", edit(d(f"{ADDR}")), 40),
    ("missing-address-family", edit(d(f"{ADDR}[0].address_family")), 40),
    ("missing-address", edit(d(f"{ADDR}[0].address")), 40),
    ("missing-cidr-and-netmask", edit(d(f"{ADDR}[0].cidr"), d(f"{ADDR}[0].netmask")), 40),
    ("missing-gateway-of-primary", edit(d(f"{ADDR}[0].gateway")), 40),
    # null everywhere it matters
    ("null-hostname", edit(s("hostname", None)), 40),
    ("null-network", edit(s("network", None)), 40),
    ("null-interfaces", edit(s(f"{IFACE}", None)), 40),
    ("null-interface", edit(s(f"{IFACE}[0]", None)), 40),
    ("null-address", edit(s(f"{ADDR}[0]", None)), 40),
    ("null-address-value", edit(s(f"{ADDR}[0].address", None)), 40),
    ("null-mac", edit(s(f"{IFACE}[0].mac", None)), 40),
    # wrong types
    ("hostname-number", edit(s("hostname", 12345)), 40),
    ("hostname-list", edit(s("hostname", ["web-01"])), 40),
    ("hostname-object", edit(s("hostname", {"name": "web-01"})), 40),
    ("network-list", edit(s("network", [])), 40),
    ("network-string", edit(s("network", "bonded")), 40),
    ("interfaces-object", edit(s(f"{IFACE}", {"eth0": {}})), 40),
    ("interfaces-string", edit(s(f"{IFACE}", "eth0")), 40),
    ("interface-string", edit(s(f"{IFACE}[0]", "eth0")), 40),
    ("interface-list", edit(s(f"{IFACE}[0]", ["eth0", "b8:ce:f6:10:20:30"])), 40),
    ("interface-name-number", edit(s(f"{IFACE}[0].name", 0)), 40),
    ("mac-number", edit(s(f"{IFACE}[0].mac", 202481592524848)), 40),
    ("bond-number", edit(s(f"{IFACE}[0].bond", 0)), 40),
    ("dhcp-string", edit(s(f"{IFACE}[0].dhcp", "yes")), 40),
    ("addresses-object", edit(s(f"{ADDR}", {"0": {}})), 40),
    ("address-string", edit(s(f"{ADDR}[0]", "198.51.100.11/31")), 40),
    ("family-string", edit(s(f"{ADDR}[0].address_family", "4")), 40),
    ("family-bool", edit(s(f"{ADDR}[0].address_family", True)), 40),
    ("family-float", edit(s(f"{ADDR}[0].address_family", 4.0)), 40),
    ("family-5", edit(s(f"{ADDR}[0].address_family", 5)), 40),
    ("address-number", edit(s(f"{ADDR}[0].address", 3325256715)), 40),
    ("cidr-string", edit(s(f"{ADDR}[0].cidr", "31")), 40),
    ("cidr-float", edit(s(f"{ADDR}[0].cidr", 31.5)), 40),
    ("cidr-bool", edit(s(f"{ADDR}[0].cidr", True)), 40),
    ("public-string", edit(s(f"{ADDR}[0].public", "true")), 40),
    ("enabled-number", edit(s(f"{ADDR}[0].enabled", 1)), 40),
    ("gateway-number", edit(s(f"{ADDR}[0].gateway", 1)), 40),
    ("bonding-list", edit(s("network.bonding", [4])), 40),
    ("mode-string", edit(s("network.bonding.mode", "4")), 40),
    ("mode-float", edit(s("network.bonding.mode", 4.5)), 40),
    ("mode-nan", EXAMPLE_TEXT.replace('"mode": 4', '"mode": NaN'), 40),
    ("mode-infinity", EXAMPLE_TEXT.replace('"mode": 4', '"mode": -Infinity'), 40),
    ("link-aggregation-number", edit(s("network.bonding.link_aggregation", 1)), 40),
    ("private-subnets-string", edit(s("private_subnets", "10.0.0.0/8")), 40),
    ("private-subnet-number", edit(s("private_subnets", [10])), 40),
    ("operating-system-string", edit(s("operating_system", "centos 7")), 40),
    ("os-distro-list", edit(s("operating_system.distro", ["centos"])), 40),
    # empty collections
    ("empty-interfaces", edit(s(f"{IFACE}", [])), 40),
    ("empty-addresses", edit(s(f"{ADDR}", [])), 40),
    ("only-disabled-addresses", edit(*[s(f"{ADDR}[{i}].enabled", False) for i in range(3)]), 40),
    ("only-elastic-addresses", edit(*[s(f"{ADDR}[{i}].management", False) for i in range(3)]),
     40),
    ("empty-interface-object", edit(s(f"{IFACE}[0]", {})), 40),
    ("empty-address-object", edit(s(f"{ADDR}[0]", {})), 40),
    # invalid IPs, prefixes, netmasks
    ("ip-out-of-range", edit(s(f"{ADDR}[0].address", "198.51.100.256")), 40),
    ("ip-three-octets", edit(s(f"{ADDR}[0].address", "198.51.100")), 40),
    ("ip-empty", edit(s(f"{ADDR}[0].address", "")), 40),
    ("ip-with-prefix", edit(s(f"{ADDR}[0].address", "198.51.100.11/31")), 40),
    ("ip-hostname", edit(s(f"{ADDR}[0].address", "metadata.packet.net")), 40),
    ("ip-newline", edit(s(f"{ADDR}[0].address", "198.51.100.11\nDEFROUTE=no")), 40),
    ("ip-leading-zeros", edit(s(f"{ADDR}[0].address", "198.051.100.011")), 40),
    ("ipv6-in-family-4", edit(s(f"{ADDR}[0].address", "2001:db8::1")), 40),
    ("ipv4-in-family-6", edit(s(f"{ADDR}[1].address", "198.51.100.11")), 40),
    ("ipv6-bad", edit(s(f"{ADDR}[1].address", "2001:db8:::1")), 40),
    ("ipv6-scope-injection", edit(s(f"{ADDR}[1].address", "2001:db8:4a:7f00::1%x\nDEFROUTE=no")),
     40),
    ("ipv6-scope", edit(s(f"{ADDR}[1].address", "2001:db8:4a:7f00::1%eth0")), 40),
    ("ip-unspecified", edit(s(f"{ADDR}[0].address", "0.0.0.0"), s(f"{ADDR}[0].cidr", 0),
                            s(f"{ADDR}[0].gateway", "0.0.0.0")), 40),
    ("ip-multicast", edit(s(f"{ADDR}[0].address", "224.0.0.1"), s(f"{ADDR}[0].cidr", 24),
                          s(f"{ADDR}[0].gateway", "224.0.0.2")), 40),
    ("ipv6-unspecified", edit(s(f"{ADDR}[1].address", "::"), s(f"{ADDR}[1].gateway", "::1")), 40),
    ("cidr-0", edit(s(f"{ADDR}[0].cidr", 0)), 40),
    ("netmask-zero", edit(d(f"{ADDR}[0].cidr"), s(f"{ADDR}[0].netmask", "0.0.0.0")), 40),
    ("cidr-33", edit(s(f"{ADDR}[0].cidr", 33)), 40),
    ("cidr-negative", edit(s(f"{ADDR}[0].cidr", -1)), 40),
    ("cidr-129-v6", edit(s(f"{ADDR}[1].cidr", 129)), 40),
    ("cidr-huge", edit(s(f"{ADDR}[0].cidr", 10 ** 30)), 40),
    ("netmask-noncontiguous", edit(d(f"{ADDR}[0].cidr"), s(f"{ADDR}[0].netmask", "255.0.255.0")),
     40),
    ("netmask-text", edit(d(f"{ADDR}[0].cidr"), s(f"{ADDR}[0].netmask", "mask")), 40),
    ("netmask-newline", edit(d(f"{ADDR}[0].cidr"),
                             s(f"{ADDR}[0].netmask", "255.255.255.254\nX=1")), 40),
    ("netmask-v6-noncontiguous", edit(d(f"{ADDR}[1].cidr"),
                                      s(f"{ADDR}[1].netmask", "ffff::ffff")), 40),
    # gateways
    ("gateway-other-family", edit(s(f"{ADDR}[0].gateway", "2001:db8:4a:7f00::")), 40),
    ("gateway-not-ip", edit(s(f"{ADDR}[0].gateway", "gateway")), 40),
    ("gateway-scope-injection", edit(s(f"{ADDR}[1].gateway",
                                       "2001:db8:4a:7f00::%x\nDEFROUTE=no")), 40),
    ("gateway-newline", edit(s(f"{ADDR}[0].gateway", "198.51.100.10\nDEFROUTE=no")), 40),
    # MACs
    ("duplicate-mac", edit(s(f"{IFACE}[1].mac", "b8:ce:f6:10:20:30")), 40),
    ("duplicate-mac-other-spelling", edit(s(f"{IFACE}[1].mac", "B8-CE-F6-10-20-30")), 40),
    ("mac-short", edit(s(f"{IFACE}[0].mac", "b8:ce:f6:10:20")), 40),
    ("mac-long", edit(s(f"{IFACE}[0].mac", "b8:ce:f6:10:20:30:40")), 40),
    ("mac-mixed-separators", edit(s(f"{IFACE}[0].mac", "b8:ce-f6:10-20:30")), 40),
    ("mac-not-hex", edit(s(f"{IFACE}[0].mac", "zz:ce:f6:10:20:30")), 40),
    ("mac-newline", edit(s(f"{IFACE}[0].mac", "b8:ce:f6:10:20:30\nX=1")), 40),
    ("bond-mac-bad", edit(s("network.bonding.mac", "not-a-mac")), 40),
    ("duplicate-interface-name", edit(s(f"{IFACE}[1].name", "eth0")), 40),
    # bonding
    ("link-aggregation-unknown", edit(s("network.bonding.link_aggregation", "lacp")), 40),
    ("link-aggregation-uppercase", edit(s("network.bonding.link_aggregation", "BONDED")), 40),
    ("link-aggregation-empty", edit(s("network.bonding.link_aggregation", "")), 40),
    ("link-aggregation-newline", edit(s("network.bonding.link_aggregation", "bonded\n")), 40),
    ("mode-7", edit(s("network.bonding.mode", 7)), 40),
    ("mode-negative", edit(s("network.bonding.mode", -1)), 40),
    ("mode-huge", edit(s("network.bonding.mode", 2 ** 64)), 40),
    ("interface-is-also-bond", edit(s(f"{IFACE}[1].bond", "eth0")), 40),
    # private subnets
    ("private-subnet-invalid", edit(s("private_subnets", ["10.0.0.0/33"])), 40),
    ("private-subnet-v6", edit(s("private_subnets", ["fd00::/8"])), 40),
    ("private-subnet-newline", edit(s("private_subnets", ["10.0.0.0/8\n0.0.0.0/0"])), 40),
    # operating system from the metadata (no -o): unknown distro is exit 20
    ("os-unknown-distro", edit(s("operating_system.distro", "plan9")), "no-o:20"),
    ("os-distro-path", edit(s("operating_system.distro", "../../etc")), "no-o:20"),
    ("os-distro-newline", edit(s("operating_system.distro", "centos\nX=1")), "no-o:20"),
    ("os-missing", edit(d("operating_system")), "no-o:20"),
]

HOSTILE_HOSTNAMES = [
    "", " ", "web 01", "web\n01", "web-01\n", "\nweb-01", "web-01.example.net\nX=1", "web\r01",
    "web\t01", "web;reboot", "$(reboot)", "`reboot`", "web'01", 'web"01', "web\\01", "web/01",
    "../../etc", "web#01", "web=01", "web*", "web\0", "-web", "web-", "web..example",
    ".web", "a" * 64, "a" * 300, ".".join(["a" * 63] * 4) + ".a",
    "w\u00e9b", "web\u200b01", "web\u2028x", "xn--", "web..", ".",
]

HOSTILE_IFNAMES = [
    "", " ", "eth/0", "/", "..", "../eth0", "eth0/..", "eth 0", "eth0 ", " eth0", "eth'0",
    'eth"0', "eth`0`", "eth\n0", "eth0\n", "\neth0", "eth0\r", "eth\t0", "eth=0", "eth0=x",
    "eth:0", "eth#0", "eth0;reboot", "$(x)", "eth\\0", "eth\0", "e" * 16, "e" * 300,
    "-eth0", ".eth0", "e..0", "\u00e9th0", "eth0\u2028", "*", "?", "lo", "all", "default",
    "bonding_masters",
]


def _expectation(expected):
    if isinstance(expected, str) and expected.startswith("no-o:"):
        return int(expected.split(":")[1]), None
    return expected, "centos 7"


@pytest.mark.parametrize("doc,expected", [c[1:] for c in DOCUMENTS], ids=[c[0] for c in DOCUMENTS])
def test_document(ws, doc, expected):
    code, os_option = _expectation(expected)
    result = ws.run(ws.args(doc, os_option=os_option))
    ws.assert_failed(result, code)


@pytest.mark.parametrize("hostname", HOSTILE_HOSTNAMES, ids=repr)
def test_hostname_refused(ws, hostname):
    result = ws.run(ws.args(metadata(hostname=hostname)))
    ws.assert_failed(result, 40)
    assert "hostname" in result.stderr


@pytest.mark.parametrize("field", ["name", "bond"])
@pytest.mark.parametrize("name", HOSTILE_IFNAMES, ids=repr)
def test_interface_and_bond_names_refused(ws, field, name):
    doc = edit(s(f"{IFACE}[0].{field}", name))
    result = ws.run(ws.args(doc))
    ws.assert_failed(result, 40)
    assert f"interfaces[0].{field}" in result.stderr


def test_longest_accepted_names_work(ws):
    """The edge of what validation accepts still produces correct files."""
    host = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    assert len(host) == 253
    doc = edit(s("hostname", host), s(f"{IFACE}[0].bond", "bond_A.1-x2345"),
               s(f"{IFACE}[1].bond", "bond_A.1-x2345"), s("network.bonding.mac", None))
    result = ws.run(ws.args(doc))
    ws.assert_succeeded(result)
    files = written_files(ws.root)
    assert files["etc/hostname"].decode().splitlines() == [host] or \
        files["etc/hostname"].decode().splitlines()[-1] == host
    assert "etc/sysconfig/network-scripts/ifcfg-bond_A.1-x2345" in files


@pytest.mark.parametrize("index, gateway", [(0, "198.51.100.1"), (1, "2001:db8:4a:7f01::"),
                                            (2, "10.70.12.9")])
def test_gateway_outside_its_network_configures_with_one_warning(ws, index, gateway):
    """Real documents carry them (Hegel's mock: a /31 via the address below it, outside
    the /31); the original tool configured them: on-link, with a WARNING naming the field.
    The root is a mounted CentOS 7 image, as the run's -o says (an empty one is warned about)."""
    (ws.root / "etc").mkdir()
    (ws.root / "etc/os-release").write_text('ID="centos"\nVERSION_ID="7"\n')
    result = ws.run(ws.args(edit(s(f"{ADDR}[{index}].gateway", gateway))), subprocess=True)
    ws.assert_succeeded(result)
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and f"addresses[{index}].gateway: {gateway} is not in" in warnings[0]
    assert "onlink" in "".join(content.decode() for path, content in written_files(ws.root).items()
                               if "/route" in path)


@pytest.mark.parametrize("value", ["1.1.1.1;reboot", "nameserver", "1.1.1.1\nnameserver 6.6.6.6",
                                   "fe80::1%x\nnameserver 6.6.6.6", "fe80::1%eth0 x",
                                   "1.1.1.1 2.2.2.2", "256.1.1.1", "localhost", "::g",
                                   "1.1.1.1,,bogus", "$(reboot)"], ids=repr)
def test_resolvers_not_ips_are_usage_errors(ws, value):
    result = ws.run(ws.args(resolvers=value))
    ws.assert_failed(result, 2)
    assert "resolvers" in result.stderr


def test_resolvers_from_environment_checked_too(ws):
    result = ws.run(ws.args(resolvers=None), subprocess=True,
                    env={"PACKET_RESOLVERS": "1.1.1.1\nnameserver 6.6.6.6"})
    ws.assert_failed(result, 2)


@pytest.mark.parametrize("kind", [None, "null", "string", "number", "list", "object", "bool"])
def test_every_field_with_every_wrong_type(ws, kind):
    """Each field of the example replaced in turn (or removed): exit 0 or 40, nothing else;
    a refusal names the field."""
    replacement = {"null": None, "string": "x\ny=1", "number": -7, "list": [], "object": {},
                   "bool": True}.get(kind)
    problems = []
    for path in leaf_paths(BASE_METADATA):
        doc = metadata()
        if kind is None:
            del_path(doc, path)
        else:
            set_path(doc, path, replacement)
        result = ws.run(ws.args(doc, extra=["--dry-run"]))  # validation only: fast
        last = path.split(".")[-1].split("[")[0]
        if result.code == 0:
            ws.assert_succeeded(result)
            assert ws.root.exists() and not any(ws.root.iterdir()), "--dry-run wrote"
        elif result.code != 40 or result.stderr.count("\n") != 1 or "Traceback" in result.stderr:
            problems.append(f"{path}: {result}")
        elif last not in result.stderr and path.split("[")[0] not in result.stderr:
            problems.append(f"{path}: the message does not name the field: {result.stderr!r}")
    assert not problems, "\n".join(problems)


TOO_BIG = EXAMPLE_TEXT[:-1].encode() + b', "padding": "' + b"x" * (65 << 20) + b'"}'


def test_a_document_over_64_mib_is_refused(ws):
    path = ws.file(TOO_BIG, "big.json")
    result = ws.run(ws.args(path), subprocess=True)
    ws.assert_failed(result, 40)
    assert "bytes" in result.stderr


def test_a_document_over_64_mib_on_stdin_is_refused(ws):
    args = ws.args()
    args[args.index("-M") + 1] = "-"
    result = ws.run(args, stdin=TOO_BIG)
    ws.assert_failed(result, 40)


# A representative subset as real processes: what the operator's shell sees.
SUBPROCESS_CASES = ["truncated-half", "array", "missing-hostname", "deep-nesting",
                    "huge-integer", "ipv6-scope-injection", "os-unknown-distro", "not-utf8"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_document_subprocess(ws, case):
    doc, expected = next(c[1:] for c in DOCUMENTS if c[0] == case)
    code, os_option = _expectation(expected)
    result = ws.run(ws.args(doc, os_option=os_option), subprocess=True)
    ws.assert_failed(result, code)


def test_metadata_file_missing_or_unreadable(ws):
    result = ws.run(ws.args(ws.inputs / "does-not-exist.json"))
    ws.assert_failed(result, 40)
    result = ws.run(ws.args(ws.inputs))  # a directory
    ws.assert_failed(result, 2)


def test_no_metadata_source(ws):
    args = ws.args()
    i = args.index("-M")
    del args[i:i + 2]
    result = ws.run(args + ["--metadata-url", ""])
    ws.assert_failed(result, 10)


def test_warnings_before_a_failure_do_not_add_lines(ws):
    """An interface matching no NIC is a warning; when the run then fails, the failure
    is still the only line (the warning shows with -v, or when the run succeeds)."""
    doc = edit(s(f"{IFACE}[1].mac", "02:00:00:00:00:99"),
               *[s(f"{ADDR}[{i}].enabled", False) for i in range(3)])
    result = ws.run(ws.args(doc), subprocess=True)
    ws.assert_failed(result, 40)
    verbose = ws.run(ws.args(doc, extra=["-v"]))
    assert "matches no NIC" in verbose.stderr and verbose.code == 40
    ok = ws.run(ws.args(edit(s(f"{IFACE}[1].mac", "02:00:00:00:00:99"))))
    ws.assert_succeeded(ok)
    assert "WARNING: metadata interface eth1" in ok.stderr


@pytest.mark.parametrize("which", ["-M", "--nics-file"])
def test_fifo_input_without_writer_does_not_hang(ws, which):
    import os
    fifo = ws.inputs / "fifo"
    os.mkfifo(fifo)
    args = ws.args()
    args[args.index(which) + 1] = str(fifo)
    result = ws.run(args, subprocess=True, timeout=60)
    ws.assert_failed(result, 40 if which == "-M" else 50)


def test_metadata_from_a_pipe_is_read(ws):
    """-M /dev/fd/N (a shell's <(...)): a pipe with a writer is read whole."""
    import os
    import subprocess
    import sys
    from .harness import REPO
    read_end, write_end = os.pipe()
    args = ws.args()
    args[args.index("-M") + 1] = f"/dev/fd/{read_end}"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "packetnetworking", *args],
                            pass_fds=(read_end,), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(read_end)
    import time
    time.sleep(0.3)  # the reader is waiting for data, not for a writer
    os.write(write_end, json.dumps(metadata()).encode())
    os.close(write_end)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
