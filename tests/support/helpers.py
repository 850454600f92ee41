"""Shared test helpers: metadata documents, NIC lists, running the CLI, tree snapshots.

Import with ``from support.helpers import ...`` (pytest puts ``tests/`` on ``sys.path``).

- ``make_metadata(**changes)``: a fresh, realistic metadata dict (bonded LACP server, two
  NICs in bond0, public IPv4 /31, public IPv6 /127, private IPv4 /31); edit it freely.
- ``write_metadata(path, doc)``: write a metadata dict as JSON, return the path.
- ``nics_from_metadata(doc, names=None)``: the JSON NIC list matching the metadata's MACs.
- ``write_nics(path, nics)`` / ``lshw_xml(nics)``: save a NIC list as JSON / as lshw XML.
- ``run_cli(args, subprocess=False, stdin=None, env=None)``: ``(exit code, stdout, stderr)``.
- ``snapshot(root)``: ``{relpath: (st_mode, bytes | link target | None for a directory)}``,
  for "the rootfs is unchanged" assertions (``assert snapshot(root) == before``).
- ``with_os(root, distro, version=None)``: put a ``usr/lib/os-release`` naming that OS (ID,
  VERSION_ID) in a target root, as in a mounted image (the CLI warns "is the target image
  mounted?" about a root without one); returns it. ``os_release(distro, version)``: that
  file's text, for roots built by hand. Give the OS the run's ``-o`` names.
- ``read_kv(path)``: a ``KEY=value`` file (ifcfg, sysconfig) as a dict, quotes stripped.
- ``DOCUMENTS`` / ``CAPTURES``: the real-world shapes in ``tests/fixtures/documents`` (metadata)
  and ``tests/fixtures/lshw`` (captures), written for these tests after public samples;
  ``document_names()``, ``load_document(name)``, ``REFUSED_DOCUMENTS`` (what the tool
  refuses today) and ``expected_addresses(doc)`` (what docs/metadata.md says is configured).
"""
import contextlib
import copy
import io
import ipaddress
import json
import logging
import os
import stat
import subprocess as _subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
#: Metadata documents in the shapes met in the wild (tests/fixtures/README.md lists them).
DOCUMENTS = FIXTURES / "documents"
#: lshw captures in the shapes met in the wild.
CAPTURES = FIXTURES / "lshw"

#: Documents the tool refuses today (exit 40), with words its one error line holds. Every
#: test running DOCUMENTS reads this table: accepting one of them is one line deleted here.
REFUSED_DOCUMENTS = {
    # addresses: [] and no interface asks for DHCP
    "hollow-no-addresses.json":
        "network.addresses: no enabled management address, and no interface asks for DHCP",
}

#: Documents configured with a WARNING, with what it says. Hegel's mock is hand-edited:
#: .114/31 via .113, outside the /31; the original tool wrote it, the routes go on-link.
WARNED_DOCUMENTS = {
    "hegel-mock.json":
        "WARNING: network.addresses[0].gateway: 198.51.100.113 is not in 198.51.100.114/31",
}


def document_names():
    """The file names of every metadata document in DOCUMENTS."""
    return sorted(p.name for p in DOCUMENTS.glob("*.json"))


def load_document(name):
    return json.loads((DOCUMENTS / name).read_text())


_PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def expected_addresses(doc):
    """What docs/metadata.md says is configured: ``(primary v4, public v6, private v4)``.

    The first enabled management address of each kind (a missing ``management`` counts as
    true, a missing ``public`` is read from the address); the private IPv4 is primary on a
    server without a public IPv4.
    """
    def usable(a):
        return a.get("enabled", True) and a.get("management", True)

    def public(a):  # RFC 1918 and ULA are private; documentation ranges count as public
        ip = ipaddress.ip_address(a["address"])
        return a.get("public", not any(ip in ipaddress.ip_network(n) for n in _PRIVATE_RANGES
                                       if ipaddress.ip_network(n).version == ip.version))

    def first(family, is_public):
        return next((a for a in doc["network"]["addresses"] if usable(a)
                     and a["address_family"] == family and public(a) == is_public), None)
    public4, public6, private4 = first(4, True), first(6, True), first(4, False)
    return public4 or private4, public6, private4

_METADATA = {
    "id": "0f6e7c3a-7c1d-4a8e-9d3b-5e2a1c4b6d70",
    "hostname": "node-01.example.net",
    "plan": "c3.small.x86",
    "facility": "am6",
    "operating_system": {"slug": "centos_7", "distro": "centos", "version": "7"},
    "private_subnets": ["10.0.0.0/8"],
    "network": {
        "bonding": {"mode": 4, "link_aggregation": "bonded", "mac": "0c:c4:7a:aa:00:10"},
        "interfaces": [
            {"name": "eth0", "mac": "0c:c4:7a:aa:00:10", "bond": "bond0"},
            {"name": "eth1", "mac": "0c:c4:7a:aa:00:11", "bond": "bond0"},
        ],
        "addresses": [
            {"address_family": 4, "public": True, "management": True, "enabled": True,
             "address": "198.51.100.23", "netmask": "255.255.255.254", "cidr": 31,
             "network": "198.51.100.22", "gateway": "198.51.100.22"},
            {"address_family": 6, "public": True, "management": True, "enabled": True,
             "address": "2001:db8:10:2a00::3", "cidr": 127,
             "netmask": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
             "network": "2001:db8:10:2a00::2", "gateway": "2001:db8:10:2a00::2"},
            {"address_family": 4, "public": False, "management": True, "enabled": True,
             "address": "10.66.4.5", "netmask": "255.255.255.254", "cidr": 31,
             "network": "10.66.4.4", "gateway": "10.66.4.4"},
        ],
    },
}


def make_metadata(**changes):
    """A fresh copy of the default document; keyword arguments replace top-level fields."""
    doc = copy.deepcopy(_METADATA)
    doc.update(copy.deepcopy(changes))
    return doc


def write_metadata(path, doc):
    """Write ``doc`` (a dict, or str/bytes written as is) to ``path``; return the Path."""
    path = Path(path)
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    elif isinstance(doc, str):
        path.write_text(doc)
    else:
        path.write_text(json.dumps(doc, indent=1))
    return path


def nics_from_metadata(doc, names=None, driver="i40e"):
    """The JSON NIC list for the metadata's interfaces: one NIC per MAC.

    ``names``: OS names in interface order (default: the metadata's own names, eth0...).
    """
    interfaces = doc["network"]["interfaces"]
    names = list(names) if names is not None else [i["name"] for i in interfaces]
    return [{"name": name, "mac": iface["mac"], "driver": driver}
            for name, iface in zip(names, interfaces)]


def write_nics(path, nics):
    """Save a NIC list (list of dicts) as the JSON NIC file; return the Path."""
    path = Path(path)
    path.write_text(json.dumps(nics))
    return path


def lshw_xml(nics):
    """``lshw -class network -xml``-shaped bytes for a NIC list (PCI ports, ``<list>`` root)."""
    nodes = []
    for i, nic in enumerate(nics):
        nodes.append(
            f'  <node id="network:{i}" claimed="true" class="network" '
            f'handle="PCI:0000:01:00.{i}">\n'
            f"    <description>Ethernet interface</description>\n"
            f"    <businfo>pci@0000:01:00.{i}</businfo>\n"
            f"    <logicalname>{escape(nic['name'])}</logicalname>\n"
            f"    <serial>{escape(nic['mac'])}</serial>\n"
            f"    <configuration>\n"
            f"      <setting id=\"driver\" value={quoteattr(nic.get('driver', 'i40e'))} />\n"
            f"    </configuration>\n"
            f"  </node>\n")
    return ('<?xml version="1.0" standalone="yes" ?>\n<list>\n' + "".join(nodes)
            + "</list>\n").encode()


def _package_parent():
    import packetnetworking
    return str(Path(packetnetworking.__file__).resolve().parents[1])


def run_cli(args, subprocess=False, stdin=None, env=None, timeout=120):
    """Run ``packet-networking ARGS``; return ``(exit code, stdout, stderr)`` as text.

    In-process by default (fast: ``cli.main`` with stdout/stderr captured, logging
    restored afterwards). ``subprocess=True`` runs ``python -m packetnetworking`` with the
    same package as the tests import, for what only a real process shows (tracebacks,
    exit status, environment). ``stdin``: bytes fed to standard input. ``env``: variables
    added to (value None: removed from) the environment.
    """
    args = [str(a) for a in args]
    if subprocess:
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(
            [_package_parent()] + [p for p in [full_env.get("PYTHONPATH")] if p])
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        proc = _subprocess.run([sys.executable, "-m", "packetnetworking", *args],
                               input=stdin if stdin is not None else b"",
                               stdout=_subprocess.PIPE, stderr=_subprocess.PIPE,
                               env=full_env, timeout=timeout)
        return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
                proc.stderr.decode("utf-8", "replace"))
    return _run_in_process(args, stdin, env)


def _run_in_process(args, stdin, env):
    from packetnetworking import cli

    out, err = io.StringIO(), io.StringIO()
    stdin_stream = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_env = {}
    for key, value in (env or {}).items():
        saved_env[key] = os.environ.get(key)
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    code = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            old_stdin, sys.stdin = sys.stdin, stdin_stream
            try:
                cli.main(args)
            except SystemExit as exc:
                code = exc.code
            finally:
                sys.stdin = old_stdin
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if code is None:
        code = 0
    return code, out.getvalue(), err.getvalue()


def snapshot(root):
    """``{relpath: (st_mode, content)}`` of everything under ``root`` (not following links).

    content: file bytes, the link target (str) for a symlink, None for anything else
    (directory, fifo, ...).
    ``st_mode`` includes the file type, so a file replaced by a link is a difference.
    """
    root = Path(root)
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                tree[rel] = (st.st_mode, os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                tree[rel] = (st.st_mode, path.read_bytes())
            else:  # directory, fifo, socket, device: never opened (a fifo would block)
                tree[rel] = (st.st_mode, None)
    return tree


def parse_kv(text):
    """``KEY=value`` lines as a dict, quotes stripped, comments and blanks skipped; any
    other line fails the test (a shell-sourced file the tool wrote holds nothing else)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a KEY=value line: {line!r}"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def read_kv(path):
    """``KEY=value`` lines of a shell-style config file as a dict (comments skipped)."""
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


#: ``NAME`` of each distro's os-release, by ``ID`` (the tool's distro names are os-release IDs).
OS_RELEASE_NAMES = {
    "alpine": "Alpine Linux", "almalinux": "AlmaLinux", "centos": "CentOS Linux",
    "debian": "Debian GNU/Linux", "fedora": "Fedora Linux",
    "flatcar": "Flatcar Container Linux by Kinvolk", "opensuse": "openSUSE Leap",
    "opensuse-leap": "openSUSE Leap", "rhel": "Red Hat Enterprise Linux",
    "rocky": "Rocky Linux", "scientific": "Scientific Linux", "sles": "SLES",
    "ubuntu": "Ubuntu",
}


def os_release(distro, version=None):
    """The text of an os-release saying ``ID=distro`` and ``VERSION_ID=version``, with
    the NAME and PRETTY_NAME the distro ships."""
    name = OS_RELEASE_NAMES.get(distro, distro.capitalize())
    lines = [f'NAME="{name}"', f"ID={distro}"]
    if version:
        lines.append(f'VERSION_ID="{version}"')
    pretty = f"{name} {version}" if version else name
    lines.append(f'PRETTY_NAME="{pretty}"')
    return "\n".join(lines) + "\n"


def with_os(root, distro, version=None):
    """``root`` with ``usr/lib/os-release`` naming ``distro`` and ``version`` (ID and
    VERSION_ID), as in a mounted image of that OS; returns ``root``. Give the OS the
    run's ``-o`` names: that is what OSIE's ``detect_os`` read from the same root.
    """
    path = Path(root) / "usr/lib/os-release"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(os_release(distro, version))
    return root
