"""Hostile NIC captures (``--nics-file``): lshw XML, lshw JSON and the JSON NIC list.

XML is parsed with entity resolution, DTD loading and network access off: a "billion
laughs" document does not expand, an external entity or DTD is never read or fetched.
"""
import http.server
import json
import threading
import time

import pytest

from .harness import BASE_LSHW, MACS, NIC_NAMES, nic_list, written_files


def lshw(nodes, prolog='<?xml version="1.0" standalone="yes" ?>\n', doctype=""):
    return (prolog + doctype + "<list>\n" + "".join(nodes) + "</list>\n").encode()


def node(name="enp1s0f0", mac=MACS[0], bus="pci@0000:01:00.0", driver="i40e", cls="network",
         extra=""):
    parts = [f'<node id="network" claimed="true" class="{cls}">']
    if bus is not None:
        parts.append(f"<businfo>{bus}</businfo>")
    if name is not None:
        parts.append(f"<logicalname>{name}</logicalname>")
    if mac is not None:
        parts.append(f"<serial>{mac}</serial>")
    if driver is not None:
        parts.append(f'<configuration><setting id="driver" value="{driver}" /></configuration>')
    return "".join(parts) + extra + "</node>\n"


def two(**second):
    """Both example NICs, the second one changed."""
    args = dict(name=NIC_NAMES[1], mac=MACS[1], bus="pci@0000:01:00.1")
    args.update(second)
    return [node(), node(**args)]


LAUGHS = "".join(
    f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10))
BILLION_LAUGHS = lshw(
    [node(extra="<description>&lol9;</description>"), node(NIC_NAMES[1], MACS[1],
                                                           "pci@0000:01:00.1")],
    doctype=f'<!DOCTYPE list [\n<!ENTITY lol0 "lol">\n{LAUGHS}]>\n')
QUADRATIC_BLOWUP = lshw(
    [node(extra="<description>" + "&big;" * 20000 + "</description>")],
    doctype='<!DOCTYPE list [<!ENTITY big "' + "x" * 50000 + '">]>\n')

# (id, capture bytes, expected exit code)
CAPTURES = [
    ("empty", b"", 50),
    ("whitespace", b" \n ", 50),
    ("text", b"eth0 b8:ce:f6:10:20:30", 50),
    ("binary", bytes(range(256)) * 10, 50),
    ("truncated-xml", BASE_LSHW[: len(BASE_LSHW) // 2], 50),
    ("truncated-one-byte", BASE_LSHW[:-2], 50),
    ("xml-not-closed", b"<list>", 50),
    ("xml-lone-bracket", b"<", 50),
    ("xml-bad-encoding", b'<?xml version="1.0" encoding="klingon"?><list/>', 50),
    ("xml-invalid-utf8", b"<list><node>\xff\xfe</node></list>", 50),
    ("xml-utf16", BASE_LSHW.decode().replace('standalone="yes"', "").encode("utf-16"), 50),
    ("xml-undefined-entity", lshw([node(name="&nope;")]), 50),
    ("xml-deep", b"<list>" + b"<node>" * 100000 + b"</node>" * 100000 + b"</list>", 50),
    ("xml-empty-list", lshw([]), 50),
    ("xml-no-network-class", lshw([node(cls="display"), node(NIC_NAMES[1], MACS[1],
                                                             cls="bridge")]), 50),
    ("nodes-without-mac", lshw([node(mac=None), node(NIC_NAMES[1], None)]), 50),
    ("nodes-without-name", lshw([node(name=None), node(None, MACS[1])]), 50),
    ("nodes-without-businfo", lshw([node(bus=None), node(NIC_NAMES[1], MACS[1], bus=None)]), 50),
    ("virtual-drivers-only", lshw([node(driver="bonding"), node(NIC_NAMES[1], MACS[1],
                                                                driver="veth")]), 50),
    ("macs-not-macs", lshw([node(mac="b8:ce:f6:10:20"), node(NIC_NAMES[1], "not-a-mac")]), 50),
    ("other-machine-macs", lshw([node(mac="00:11:22:33:44:55"),
                                 node(NIC_NAMES[1], "00:11:22:33:44:56")]), 50),
    ("duplicate-macs", lshw(two(mac=MACS[0])), 50),
    ("duplicate-mac-other-spelling", lshw(two(mac=MACS[0].upper().replace(":", "-"))), 50),
    ("duplicate-names", lshw(two(name=NIC_NAMES[0])), 50),
    ("name-newline", lshw([node(name="enp1s0f0&#10;X=1")]), 50),
    ("name-slash", lshw([node(name="../../etc")]), 50),
    ("name-space", lshw([node(name="enp1s0 f0")]), 50),
    ("name-quote", lshw([node(name="enp1s0&quot;f0")]), 50),
    ("name-equals", lshw([node(name="enp1s0=f0")]), 50),
    ("name-too-long", lshw([node(name="e" * 16)]), 50),
    ("name-colon", lshw([node(name="enp1s0f0:1")]), 50),
    ("name-of-the-bond", lshw(two(name="bond0")), 50),
    ("name-lo", json.dumps(nic_list(names=("lo", "enp1s0f1"))).encode(), 50),
    ("json-name-of-the-bond", json.dumps(nic_list(names=("enp1s0f0", "bond0"))).encode(), 50),
    # JSON forms
    ("json-truncated", json.dumps(nic_list())[:-3].encode(), 50),
    ("json-empty-list", b"[]", 50),
    ("json-empty-object", b"{}", 50),
    ("json-numbers", b"[1, 2, 3]", 50),
    ("json-string", b'"enp1s0f0"', 50),
    ("json-deep", b"[" * 100000 + b"]" * 100000, 50),
    ("json-huge-int", b"[" + b"9" * 5000 + b"]", 50),
    ("json-not-utf8", b'[{"name": "\xff", "mac": "b8:ce:f6:10:20:30"}]', 50),
    ("json-name-newline", json.dumps(nic_list(names=("enp1s0f0\n", "enp1s0f1"))).encode(), 50),
    ("json-name-injection", json.dumps(nic_list(names=("enp1s0f0\nIPADDR=1.2.3.4",
                                                       "enp1s0f1"))).encode(), 50),
    ("json-name-path", json.dumps(nic_list(names=("../../../x", "enp1s0f1"))).encode(), 50),
    ("json-name-number", json.dumps([{"name": 0, "mac": MACS[0]}]).encode(), 50),
    ("json-name-missing", json.dumps([{"mac": MACS[0]}]).encode(), 50),
    ("json-mac-bad", json.dumps([{"name": "enp1s0f0", "mac": "b8:ce:f6:10:20"}]).encode(), 50),
    ("json-mac-null", json.dumps([{"name": "enp1s0f0", "mac": None}]).encode(), 50),
    ("json-driver-list", json.dumps([{"name": "enp1s0f0", "mac": MACS[0],
                                      "driver": ["i40e"]}]).encode(), 50),
    ("json-logical-name-bad", json.dumps([{"name": "enp1s0f0", "mac": MACS[0],
                                           "logical_name": "a b"}]).encode(), 50),
    ("json-duplicate-macs", json.dumps(nic_list(macs=(MACS[0], MACS[0]))).encode(), 50),
    ("json-duplicate-names", json.dumps(nic_list(names=("eth0", "eth0"))).encode(), 50),
    ("lshw-json-no-network", json.dumps({"id": "computer", "children": [
        {"class": "network", "logicalname": "enp1s0f0"}]}).encode(), 50),
    ("lshw-json-odd-types", json.dumps({"children": [
        {"class": "network", "logicalname": ["a b"], "serial": MACS[0], "businfo": "pci@x",
         "configuration": "nope"}, {"class": "network", "logicalname": 5, "serial": 7}]}).encode(),
     50),
]


@pytest.mark.parametrize("capture,expected", [c[1:] for c in CAPTURES],
                         ids=[c[0] for c in CAPTURES])
def test_capture(ws, capture, expected):
    result = ws.run(ws.args(nics=capture))
    ws.assert_failed(result, expected)


@pytest.mark.parametrize("mac0,mac1", [
    (MACS[0].upper(), MACS[1].upper()),
    (MACS[0].replace(":", "-"), MACS[1].replace(":", "-").upper()),
    (MACS[0].replace(":", ""), MACS[1].replace(":", "")),
    ("b8ce.f610.2030", "B8CE.F610.2031"),
    (f"  {MACS[0]}\n", f"\t{MACS[1]} "),
], ids=["upper", "dashes", "bare", "dotted", "padded"])
def test_odd_mac_spellings_match(ws, mac0, mac1):
    capture = lshw([node(mac=mac0), node(NIC_NAMES[1], mac1, "pci@0000:01:00.1")])
    result = ws.run(ws.args(nics=capture))
    ws.assert_succeeded(result)
    files = written_files(ws.root)
    slave = files[f"etc/sysconfig/network-scripts/ifcfg-{NIC_NAMES[1]}"].decode()
    assert f"HWADDR={MACS[1]}\n" in slave


def test_billion_laughs_does_not_expand(ws):
    started = time.monotonic()
    result = ws.run(ws.args(nics=BILLION_LAUGHS))
    assert time.monotonic() - started < 20
    if result.code == 0:  # an older libxml2 that keeps entities unexpanded without refusing
        ws.assert_succeeded(result)
        assert not any(b"lol" in data for data in written_files(ws.root).values())
    else:
        ws.assert_failed(result, 50)


def test_quadratic_blowup_does_not_expand(ws):
    result = ws.run(ws.args(nics=QUADRATIC_BLOWUP), subprocess=True)
    if result.code == 0:
        ws.assert_succeeded(result)
    else:
        ws.assert_failed(result, 50)


def test_external_entity_is_never_read(ws):
    secret = ws.outside / "secret"
    secret.write_text("enp9s9TOKEN\n")
    capture = lshw(
        [node(name="&xxe;"), node(NIC_NAMES[1], MACS[1], "pci@0000:01:00.1",
                                  extra="<description>&xxe;</description>")],
        doctype=f'<!DOCTYPE list [<!ENTITY xxe SYSTEM "file://{secret}">]>\n')
    result = ws.run(ws.args(nics=capture))
    if result.code == 0:
        ws.assert_succeeded(result)
    else:
        ws.assert_failed(result, 50)
    everything = b"".join(written_files(ws.root).values()) + result.stderr.encode()
    assert b"TOKEN" not in everything


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):
        _Recorder.hits.append(self.path)
        body = b'<!ENTITY % evil "<!ENTITY leak \'enp7s7\'>">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_external_dtd_is_never_fetched(ws):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits = []
    try:
        url = f"http://127.0.0.1:{server.server_port}/evil.dtd"
        capture = lshw(two(), doctype=f'<!DOCTYPE list SYSTEM "{url}" [<!ENTITY % remote '
                                      f'SYSTEM "{url}"> %remote;]>\n')
        result = ws.run(ws.args(nics=capture))
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.hits == []
    if result.code == 0:
        ws.assert_succeeded(result)
    else:
        ws.assert_failed(result, 50)


def test_oversized_capture_refused(ws):
    big = BASE_LSHW.replace(b"</list>", b"<!--" + b"x" * (33 << 20) + b"--></list>")
    result = ws.run(ws.args(nics=big))
    ws.assert_failed(result, 50)


def test_endless_capture_does_not_hang(ws):
    """``--nics-file /dev/zero`` must end (the size limit applies while reading)."""
    result = ws.run(ws.args(nics=__import__("pathlib").Path("/dev/zero")), subprocess=True,
                    timeout=60)
    ws.assert_failed(result, 50)


def test_capture_missing_or_directory(ws):
    result = ws.run(ws.args(nics=ws.inputs / "missing.xml"))
    ws.assert_failed(result, 50)
    result = ws.run(ws.args(nics=ws.inputs))
    ws.assert_failed(result, 2)


def test_hostile_driver_never_reaches_a_file(ws):
    """The driver is free text in lshw; it must not break or appear in any file."""
    capture = lshw([node(driver="i40e&#10;IPADDR=6.6.6.6"),
                    node(NIC_NAMES[1], MACS[1], "pci@0000:01:00.1", driver="&quot;;reboot")])
    result = ws.run(ws.args(nics=capture))
    ws.assert_succeeded(result)
    everything = b"".join(written_files(ws.root).values())
    assert b"6.6.6.6" not in everything and b"reboot" not in everything


SUBPROCESS_CASES = ["truncated-xml", "nodes-without-mac", "duplicate-macs",
                    "json-name-injection"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_capture_subprocess(ws, case):
    capture, expected = next(c[1:] for c in CAPTURES if c[0] == case)
    result = ws.run(ws.args(nics=capture), subprocess=True)
    ws.assert_failed(result, expected)
