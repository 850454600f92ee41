"""No metadata or NIC value can add a line or a key to any generated file.

1. Every template of the package is rendered through the real builders, for every
   family, stack and layout, once with ordinary values and once with values at the edge
   of what validation accepts (253-character host name, 15-character interface and bond
   names using '.', '-' and '_', ...). Mapping the edge values back to the ordinary ones
   must give the ordinary output byte for byte: same lines, same keys, same quoting.
   A template that no scenario renders fails the test (add a scenario for it).
2. Forbidden values (newlines, quotes, '=', '#', spaces, shell characters, ...) in
   every string field that could reach a file are refused, or never appear in a file.
"""
import copy
import re

import pytest

from packetnetworking import metadata as md
from packetnetworking import templating
from packetnetworking import distros
from packetnetworking.builder import DistroBuilder
from packetnetworking.run import Builder
from packetnetworking.errors import PacketNetworkingError
from packetnetworking.nics import NIC, parse_json

from .harness import REPO, metadata

OS_LIST = ["centos 7", "centos 8", "rocky 9", "almalinux 10", "rhel 8", "rhel 9", "fedora 40",
           "scientific 7", "opensuse 15.5", "sles 15", "opensuse 16.0", "opensuse tumbleweed",
           "debian 10", "debian 12", "ubuntu 16.04", "ubuntu 18.04", "ubuntu 22.04",
           "ubuntu 24.04", "alpine 3.18", "flatcar 3510.2.0"]

BASE_NICS = ["enp1s0f0", "enp1s0f1", "enp2s0f0", "enp2s0f1"]
# 13 characters, so that "NAME:0" alias labels still fit in 15 (a longer device name
# legitimately changes the layout: no alias, see distros/redhat)
EDGE_NICS = ["e-N_p.1s0f0_0", "e-N_p.1s0f1_1", "e-N_p.2s0f0_2", "e-N_p.2s0f1_3"]
BASE_BONDS = ["bond0", "bond1"]
EDGE_BONDS = ["b0nd-A_b.c-D0", "b0nd-A_b.c-D1"]
BASE_META = ["eth0", "eth1", "eth2", "eth3"]
EDGE_META = ["eTh-0_x.y-Z_ab0", "eTh-0_x.y-Z_ab1", "eTh-0_x.y-Z_ab2", "eTh-0_x.y-Z_ab3"]
BASE_HOST = "web-01.example.net"
EDGE_SHORT = "w" + "-0" * 31
EDGE_HOST = ".".join([EDGE_SHORT, "e" * 63, "x-" * 31 + "y", "n" * 61])
MACS = ["b8:ce:f6:10:20:30", "b8:ce:f6:10:20:31", "b8:ce:f6:10:20:32", "b8:ce:f6:10:20:33"]
RESOLVERS = ["147.75.207.207", "2001:4860:4860::8888"]

assert len(EDGE_HOST) == 253 and md.check_hostname(EDGE_HOST)
assert all(md.check_ifname(n) for n in EDGE_NICS + EDGE_BONDS + EDGE_META)
assert all(len(n) == 15 for n in EDGE_META) and all(len(n) == 13 for n in EDGE_NICS + EDGE_BONDS)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def layout_doc(layout, host, bonds, meta_names):
    doc = metadata(hostname=host)
    net = doc["network"]
    count = 4 if layout == "two-bonds" else 2
    net["interfaces"] = [{"name": meta_names[i], "mac": MACS[i],
                          "bond": bonds[i % 2 if layout == "two-bonds" else 0]}
                         for i in range(count)]
    net["bonding"]["mac"] = MACS[0]
    if layout == "individual":
        net["bonding"]["link_aggregation"] = "individual"
    if layout == "dhcp":
        for iface in net["interfaces"]:
            iface["dhcp"] = True
    if layout == "private-only":
        net["addresses"] = [a for a in net["addresses"] if not a["public"]]
    if layout == "v4-only":
        net["addresses"] = [a for a in net["addresses"] if a["address_family"] == 4]
    if layout == "mode-1":
        net["bonding"]["mode"] = 1
    if layout == "onlink":  # every gateway outside its address's network
        for address in net["addresses"]:
            address["cidr"] = 32 if address["address_family"] == 4 else 128
    return doc


LAYOUTS = ["bonded", "two-bonds", "individual", "dhcp", "private-only", "v4-only", "mode-1",
           "onlink"]


def render_all(doc, nic_names, os_option, renderer, rootfs=None):
    meta = md.parse(doc)
    count = len(doc["network"]["interfaces"])  # no spare NIC: its name would be derived
    nics = [NIC(name=n, mac=m, driver="i40e") for n, m in zip(nic_names[:count], MACS)]
    builder = Builder(meta, nics, os_option, RESOLVERS, {"renderer": renderer}).initialize()
    tasks = builder.build_tasks(rootfs)
    rendered = builder.render(tasks)
    return {path: r.content for path, r in rendered.items()}


def to_base(text):
    """Edge values back to the ordinary ones (longest first)."""
    pairs = sorted([(EDGE_HOST, BASE_HOST), (EDGE_SHORT, BASE_HOST.split(".")[0])]
                   + list(zip(EDGE_NICS, BASE_NICS)) + list(zip(EDGE_BONDS, BASE_BONDS))
                   + list(zip(EDGE_META, BASE_META)), key=lambda p: -len(p[0]))
    for edge, base in pairs:
        text = text.replace(edge, base)
    return UUID.sub("UUID", text)  # NetworkManager UUIDs are derived from the names


def scenarios():
    """(OS, renderer, target): every stack each OS accepts, on an empty target and on
    one where every program the builders look for is installed."""
    distros.load_all()
    meta = md.parse(metadata())
    nics = [NIC(name=n, mac=m) for n, m in zip(BASE_NICS, MACS)]
    for os_option in OS_LIST:
        network = Builder(meta, nics, os_option, RESOLVERS).initialize().network
        cls = distros.find(network.os.distro)
        yield os_option, "auto", "empty"
        for renderer in sorted(cls(network).available_renderers()):
            yield os_option, renderer, "empty"
            yield os_option, renderer, "everything"


def _markers():
    """Every marker path the renderer selection and the builders probe in a target."""
    import importlib
    import pkgutil
    import packetnetworking
    paths = set()
    for info in pkgutil.walk_packages(packetnetworking.__path__, "packetnetworking."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, (tuple, list)) and value and all(
                    isinstance(v, str) and re.fullmatch(r"(etc|usr|sbin|lib|bin|var)/[\w./+-]+", v)
                    for v in value):
                paths.update(value)
    return sorted(paths)


@pytest.fixture(scope="module")
def everything_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("everything")
    markers = _markers()
    for rel in markers:
        path = root / rel
        if any(other.startswith(rel + "/") for other in markers):
            path.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
    return str(root)


@pytest.fixture(scope="module")
def used_templates():
    """Record every template loaded (includes too) while the module's tests run."""
    env = templating.environment()
    seen = set()
    original = env.get_template

    def recording(name, *args, **kwargs):
        seen.add(name if isinstance(name, str) else getattr(name, "name", str(name)))
        return original(name, *args, **kwargs)

    env.get_template = recording
    yield seen
    del env.get_template


@pytest.mark.parametrize("os_option,renderer,target", list(scenarios()))
def test_edge_values_change_no_line_or_key(used_templates, everything_root, os_option,
                                           renderer, target):
    rootfs = everything_root if target == "everything" else None
    problems = []
    for layout in LAYOUTS:
        try:
            base = render_all(layout_doc(layout, BASE_HOST, BASE_BONDS, BASE_META),
                              BASE_NICS, os_option, renderer, rootfs)
        except PacketNetworkingError as err:  # a layout this OS/stack refuses: same for both
            with pytest.raises(type(err)):
                render_all(layout_doc(layout, EDGE_HOST, EDGE_BONDS, EDGE_META), EDGE_NICS,
                           os_option, renderer, rootfs)
            continue
        edge = render_all(layout_doc(layout, EDGE_HOST, EDGE_BONDS, EDGE_META), EDGE_NICS,
                          os_option, renderer, rootfs)
        mapped = {to_base(path): to_base(content) for path, content in edge.items()}
        base = {path: UUID.sub("UUID", content) for path, content in base.items()}
        if set(mapped) != set(base):
            problems.append(f"{layout}: files differ: {sorted(set(mapped) ^ set(base))}")
            continue
        for path in base:
            if mapped[path] != base[path]:
                b, e = base[path].splitlines(), mapped[path].splitlines()
                first = next((i for i, (x, y) in enumerate(zip(b, e)) if x != y), min(len(b),
                                                                                      len(e)))
                problems.append(f"{layout} {path}: {len(b)} vs {len(e)} lines; first "
                                f"difference: {b[first:first + 1]} vs {e[first:first + 1]}")
    assert not problems, "\n".join(problems)


def test_every_template_is_rendered(used_templates, everything_root):
    """Runs after the scenarios (same module): each template file was rendered."""
    if not used_templates:  # this test alone (-k): render the scenarios now
        for os_option, renderer, target in scenarios():
            for layout in LAYOUTS:
                try:
                    render_all(layout_doc(layout, BASE_HOST, BASE_BONDS, BASE_META), BASE_NICS,
                               os_option, renderer,
                               everything_root if target == "everything" else None)
                except PacketNetworkingError:
                    pass
    package = REPO / "packetnetworking"
    on_disk = set()
    for path in package.rglob("templates/*.j2"):
        module = ".".join(path.parent.parent.relative_to(REPO).parts)
        on_disk.add(f"{module}:{path.name}")
    missing = sorted(on_disk - used_templates)
    assert not missing, f"templates no scenario renders (add one to OS_LIST/LAYOUTS): {missing}"


# --- forbidden values -----------------------------------------------------------------

PAYLOADS = ["\nINJECTED=1", "\rINJECTED=1", "\x85INJECTED", "\u2028INJECTED", "\x00INJECTED",
            " INJECTED=1", "\tINJECTED", '"INJECTED', "'INJECTED", "=INJECTED", "#INJECTED",
            ";INJECTED", "$(INJECTED)", "`INJECTED`", "\\INJECTED", "/INJECTED", "{INJECTED}",
            ":INJECTED", "%INJECTED", ",INJECTED", "]INJECTED", "|INJECTED", "&INJECTED",
            "<INJECTED", "*INJECTED", "?INJECTED", "~INJECTED", "!INJECTED", "@INJECTED"]

#: (field path in the document, an ordinary value the payload is appended to)
DOC_FIELDS = [
    ("hostname", BASE_HOST), ("plan", "c3.small.x86"),
    ("network.interfaces[0].name", "eth0"), ("network.interfaces[0].bond", "bond0"),
    ("network.interfaces[1].bond", "bond0"), ("network.interfaces[0].mac", MACS[0]),
    ("network.bonding.mac", MACS[0]), ("network.bonding.link_aggregation", "bonded"),
    ("network.addresses[0].address", "198.51.100.11"),
    ("network.addresses[0].gateway", "198.51.100.10"),
    ("network.addresses[1].address", "2001:db8:4a:7f00::1"),
    ("network.addresses[1].gateway", "2001:db8:4a:7f00::"),
    ("network.addresses[0].netmask", "255.255.255.254"),
    ("private_subnets[0]", "10.0.0.0/8"),
    ("operating_system.distro", "centos"), ("operating_system.version", "7"),
]
NIC_FIELDS = ["name", "mac", "driver", "logical_name"]
REPRESENTATIVES = [("centos 7", "ifcfg-rh"), ("rocky 9", "networkmanager"), ("debian 12", "eni"),
                   ("ubuntu 22.04", "netplan"), ("flatcar 3510.2.0", "networkd"),
                   ("opensuse 15.5", "wicked"), ("alpine 3.18", "eni")]


def _set(doc, path, value):
    from .harness import set_path
    return set_path(doc, path, value)


def _everything(doc, nic_entries, os_option, renderer):
    meta = md.parse(doc)
    nics = parse_json(nic_entries, "NIC list")
    builder = Builder(meta, nics, os_option, RESOLVERS, {"renderer": renderer}).initialize()
    rendered = builder.render(builder.build_tasks(None))
    return "".join(f"{path}\n{r.content}" for path, r in rendered.items())


@pytest.mark.parametrize("field,ordinary", DOC_FIELDS, ids=[f[0] for f in DOC_FIELDS])
def test_forbidden_values_in_metadata_are_refused_or_never_written(field, ordinary):
    nic_entries = [{"name": BASE_NICS[i], "mac": MACS[i], "driver": "i40e"} for i in range(2)]
    written = []
    for payload in PAYLOADS:
        doc = metadata()
        _set(doc, field, ordinary + payload)
        try:
            md.parse(copy.deepcopy(doc))
        except PacketNetworkingError:
            continue  # refused
        for os_option, renderer in REPRESENTATIVES:
            use_os = None if field.startswith("operating_system") else os_option
            try:
                text = _everything(doc, nic_entries, use_os, renderer)
            except PacketNetworkingError:
                continue
            if "injected" in text.lower():
                written.append(f"{payload!r} via {os_option}/{renderer}")
    assert not written, f"{field}: a forbidden value reached a file: {written}"


@pytest.mark.parametrize("field", NIC_FIELDS)
def test_forbidden_values_in_nics_are_refused_or_never_written(field):
    written = []
    for payload in PAYLOADS:
        entries = [{"name": BASE_NICS[i], "mac": MACS[i], "driver": "i40e"} for i in range(2)]
        ordinary = {"name": BASE_NICS[0], "mac": MACS[0], "driver": "i40e",
                    "logical_name": BASE_NICS[0]}[field]
        entries[0][field] = ordinary + payload
        try:
            parse_json(entries, "NIC list")
        except PacketNetworkingError:
            continue
        for os_option, renderer in REPRESENTATIVES:
            try:
                text = _everything(metadata(), entries, os_option, renderer)
            except PacketNetworkingError:
                continue
            if "injected" in text.lower():
                written.append(f"{payload!r} via {os_option}/{renderer}")
    assert not written, f"NIC {field}: a forbidden value reached a file: {written}"


def test_forbidden_resolvers_are_refused():
    from packetnetworking import source
    for payload in PAYLOADS:
        with pytest.raises(ValueError):
            source.parse_resolvers("1.1.1.1" + payload)
        with pytest.raises(ValueError):
            source.parse_resolvers("fe80::1" + payload)


def test_host_resolv_conf_lines_cannot_inject(tmp_path):
    from packetnetworking import source
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 1.1.1.1\nnameserver fe80::1%eth0;INJECTED\n"
                    "nameserver 8.8.8.8#INJECTED\nnameserver 2001:db8::1%x\\INJECTED\n")
    servers = source.host_resolvers(str(conf))
    assert "1.1.1.1" in servers
    assert not any("INJECTED" in s or "%" in s for s in servers)
