"""Gateways outside their address's network (on-link), written for every stack.

Real documents carry them: Tinkerbell Hegel's mock serves 139.175.86.114/31 via
139.175.86.113, below the /31. The kernel refuses ``ip route add default via GW``
when GW is on no connected subnet, unless the route is marked ``onlink``; the
original tool configured such documents, so every stack writes its routes via such a
gateway on-link. Each file is read by the stack's real parser where one runs here
(``ifup --no-act``, ``netplan generate``, libnm); the boot suite (tests/boot) brings
them up for ENI, netplan, keyfiles, networkd and NetworkManager's ifcfg-rh reader.
"""
import copy
import os
import re
import shutil
import subprocess

import pytest

from support import stack_cases as sc
from support.helpers import nics_from_metadata, run_cli, with_os, write_metadata, write_nics
from packetnetworking.renderers.networkmanager.builder import BUILDERS as KEYFILE_BUILDERS
from test_ifupdown_validator import ifup_no_act
from test_netplan import netplan_generate
from test_networkmanager import libnm  # noqa: F401  (fixture)
from test_networkmanager import write_tree

GW4, GW6, GW_PRIVATE = "139.175.86.113", "2001:db8:10:2a00::1", "10.66.4.1"
ONLINK = [dict(sc.PUBLIC4, address="139.175.86.114", network="139.175.86.114", gateway=GW4),
          dict(sc.PUBLIC6, gateway=GW6),
          dict(sc.PRIVATE4, gateway=GW_PRIVATE)]


def document(bonds=("bond0", "bond0"), link="bonded", addresses=ONLINK):
    return sc.document(link=link, bonds=bonds, addresses=copy.deepcopy(addresses))


def run(tmp_path, doc, os_option, renderer):
    """The files the CLI writes for ``doc``: ``{relative path: text}``, and stderr. The
    root holds the os-release of the OS ``os_option`` names, as a mounted image does."""
    root = with_os(tmp_path / "root", *os_option.split())
    nics = nics_from_metadata(doc, names=sc.NAMES[:len(doc["network"]["interfaces"])])
    code, _, err = run_cli(["-M", write_metadata(tmp_path / "m.json", doc),
                            "--nics-file", write_nics(tmp_path / "n.json", nics),
                            "-o", os_option, "-t", root, "--renderer", renderer,
                            "--resolvers", ",".join(sc.RESOLVERS)])
    assert code == 0, err
    files = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*")
             if p.is_file() and not p.is_symlink()}
    return files, err


def test_one_warning_per_gateway_naming_the_field(tmp_path):
    _, err = run(tmp_path, document(), "debian 12", "eni")
    assert err.splitlines() == [
        f"WARNING: network.addresses[{i}].gateway: {gw} is not in {cidr}: routes via it are "
        "written on-link"
        for i, (gw, cidr) in enumerate([(GW4, "139.175.86.114/31"),
                                        (GW6, "2001:db8:10:2a00::3/127"),
                                        (GW_PRIVATE, "10.66.4.5/31")])]


@pytest.mark.parametrize("os_option, renderer", [
    ("debian 12", "eni"), ("alpine 3.19", "eni"), ("ubuntu 22.04", "netplan"),
    ("debian 12", "networkd"), ("debian 12", "networkmanager"), ("rocky 8", "ifcfg-rh"),
    ("sles 15", "wicked")])
def test_gateways_inside_their_network_write_nothing_on_link(tmp_path, os_option, renderer):
    files, err = run(tmp_path, sc.document(), os_option, renderer)
    assert err == ""
    assert not [p for p, text in files.items() if re.search(r"on-?link", text, re.I)]


# --- ifupdown: Debian's "gateway" adds onlink itself; Alpine writes the routes -------------

@pytest.mark.parametrize("link, bonds, device", [("bonded", ("bond0", "bond0"), "bond0"),
                                                 ("individual", (None, None), sc.NAMES[0])])
def test_eni_routes_are_on_link_as_ifup_runs_them(tmp_path, link, bonds, device):
    files, _ = run(tmp_path, document(bonds, link), "debian 12", "eni")
    text = files["etc/network/interfaces"]
    assert f"gateway {GW4}" in text and f"gateway {GW6}" in text
    out = ifup_no_act(tmp_path / "root/etc/network/interfaces", tmp_path)
    assert f"ip route add default via {GW4} dev {device} onlink" in out
    assert f"ip -6 route replace default via {GW6} dev {device} onlink" in out
    assert f"ip route replace 10.0.0.0/8 via {GW_PRIVATE} dev {device} onlink" in out


def test_alpine_writes_the_on_link_default_routes_itself(tmp_path):
    """ifupdown-ng's "gateway" adds no "onlink" in the releases Alpine 3.19 and Debian 12
    ship (0.12.1, 0.11.4): the default routes are "up" commands instead."""
    files, _ = run(tmp_path, document(), "alpine 3.19", "eni")
    text = files["etc/network/interfaces"]
    assert "gateway" not in text
    out = ifup_no_act(tmp_path / "root/etc/network/interfaces", tmp_path)
    assert f"ip route replace default via {GW4} dev bond0 onlink" in out
    assert f"ip -6 route replace default via {GW6} dev bond0 onlink" in out
    assert f"ip route replace 10.0.0.0/8 via {GW_PRIVATE} dev bond0 onlink" in out


def test_alpine_keeps_gateway_lines_for_gateways_inside(tmp_path):
    files, _ = run(tmp_path, sc.document(), "alpine 3.19", "eni")
    text = files["etc/network/interfaces"]
    assert "gateway 198.51.100.22" in text and "gateway 2001:db8:10:2a00::2" in text


# --- netplan and networkd -------------------------------------------------------------------

def test_netplan_routes_are_on_link_in_what_networkd_gets(tmp_path):
    files, _ = run(tmp_path, document(), "ubuntu 22.04", "netplan")
    netplan = {p: (t, 0o600) for p, t in files.items() if p.startswith("etc/netplan/")}
    generated, stderr = netplan_generate(tmp_path, netplan)
    routes = [dict(items) for name, items in generated["10-netplan-bond0.network"]
              if name == "Route"]
    assert {(r.get("Destination"), r["Gateway"], r.get("GatewayOnLink")) for r in routes} == {
        ("0.0.0.0/0", GW4, "true"), ("::/0", GW6, "true"),
        ("10.0.0.0/8", GW_PRIVATE, "true")}


def test_networkd_gateways_get_route_sections_with_gateway_on_link(tmp_path):
    files, _ = run(tmp_path, document(), "debian 12", "networkd")
    sections = sc.parse_unit(files["etc/systemd/network/05-packet-bond0.network"])
    assert sc.values(sections, "Network", "Gateway") == []
    routes = [dict(items) for name, items in sections if name == "Route"]
    assert routes == [{"Gateway": GW4, "GatewayOnLink": "yes"},
                      {"Gateway": GW6, "GatewayOnLink": "yes"},
                      {"Destination": "10.0.0.0/8", "Gateway": GW_PRIVATE,
                       "GatewayOnLink": "yes"}]


def test_networkd_keeps_gateway_keys_for_gateways_inside(tmp_path):
    files, _ = run(tmp_path, sc.document(), "debian 12", "networkd")
    sections = sc.parse_unit(files["etc/systemd/network/05-packet-bond0.network"])
    assert sc.values(sections, "Network", "Gateway") == ["198.51.100.22", "2001:db8:10:2a00::2"]


# --- NetworkManager keyfiles, as libnm reads them -------------------------------------------

def test_keyfile_default_routes_are_manual_on_link_routes(tmp_path, libnm):  # noqa: F811
    rendered = sc.render_stack(KEYFILE_BUILDERS, document(), 2)
    conns = libnm(write_tree(rendered, tmp_path))
    ipv4, ipv6 = conns["bond0"]["ipv4"], conns["bond0"]["ipv6"]
    assert ipv4["gateway"] is None and ipv6["gateway"] is None
    assert [(r["dest"], r["next_hop"], r["attributes"]) for r in ipv4["routes"]] == [
        ("0.0.0.0/0", GW4, {"onlink": True}), ("10.0.0.0/8", GW_PRIVATE, {"onlink": True})]
    assert [(r["dest"], r["next_hop"], r["attributes"]) for r in ipv6["routes"]] == [
        ("::/0", GW6, {"onlink": True})]


# --- RedHat ifcfg: route-DEV / route6-DEV, read by network-scripts and ifcfg-rh -------------

def test_ifcfg_on_link_default_routes_are_in_the_route_files(tmp_path):
    files, _ = run(tmp_path, document(), "rocky 8", "ifcfg-rh")
    scripts = "etc/sysconfig/network-scripts"
    for path in (f"{scripts}/ifcfg-bond0", "etc/sysconfig/network"):
        # network-scripts skip an off-network GATEWAY, and with GATEWAYDEV they would
        # even add a default route without a gateway
        assert not re.search(r"^(GATEWAY|GATEWAYDEV|IPV6_DEFAULTGW|IPV6_DEFAULTDEV)=",
                             files[path], re.M), files[path]
    assert "DEFROUTE=yes" in files[f"{scripts}/ifcfg-bond0"]
    lines = [l for l in files[f"{scripts}/route-bond0"].splitlines() if not l.startswith("#")]
    assert lines == [f"default via {GW4} dev bond0 onlink",
                     f"10.0.0.0/8 via {GW_PRIVATE} dev bond0 onlink"]
    lines = [l for l in files[f"{scripts}/route6-bond0"].splitlines() if not l.startswith("#")]
    assert lines == [f"default via {GW6} dev bond0 onlink"]


def in_private_netns(script):
    """Run ``script`` (sh) in a new network namespace: a kernel to add routes to without
    touching the host's. Needs root, unshare (util-linux) and ip (iproute2); skips
    otherwise, unless PN_REQUIRE_VALIDATORS=1."""
    sc.require_tool("ip", "iproute2")
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        message = "adding routes in a private network namespace needs root and unshare"
        if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
            pytest.fail(message + " (PN_REQUIRE_VALIDATORS=1)")
        pytest.skip(message)
    return subprocess.run([unshare, "--net", "sh", "-c", script], capture_output=True,
                          text=True, timeout=60)


def test_the_kernel_takes_the_ifcfg_route_lines_and_needs_their_onlink(tmp_path):
    """network-scripts run "ip route add LINE" for each line of route-DEV ("ip -6 route add"
    for route6-DEV): the lines are added in a private namespace to a device named like the
    bond, carrying the addresses; without "onlink" the kernel refuses them."""
    files, _ = run(tmp_path, document(), "rocky 8", "ifcfg-rh")
    scripts = "etc/sysconfig/network-scripts"
    commands = []
    for path, family in ((f"{scripts}/route-bond0", "-4"), (f"{scripts}/route6-bond0", "-6")):
        commands += [f"ip {family} route add {line}" for line in files[path].splitlines()
                     if line and not line.startswith("#")]
    setup = ("set -e; ip link add bond0 type veth peer name peer0; ip link set peer0 up; "
             "ip link set bond0 up; ip addr add 139.175.86.114/31 dev bond0; "
             "ip addr add 10.66.4.5/31 dev bond0; "
             "ip -6 addr add 2001:db8:10:2a00::3/127 dev bond0 nodad; ")
    proc = in_private_netns(setup + "; ".join(commands) + "; ip -4 route; ip -6 route")
    assert proc.returncode == 0, proc.stderr
    assert f"default via {GW4} dev bond0 onlink" in proc.stdout
    assert f"10.0.0.0/8 via {GW_PRIVATE} dev bond0 onlink" in proc.stdout
    assert re.search(rf"default via {GW6} dev bond0 .*onlink", proc.stdout)
    without = in_private_netns(setup + commands[0].replace(" onlink", ""))
    assert without.returncode != 0 and "invalid gateway" in without.stderr


def test_ifcfg_without_on_link_gateways_writes_no_route6_file(tmp_path):
    files, _ = run(tmp_path, sc.document(), "rocky 8", "ifcfg-rh")
    scripts = "etc/sysconfig/network-scripts"
    assert f"{scripts}/route6-bond0" not in files
    assert "GATEWAY=198.51.100.22" in files[f"{scripts}/ifcfg-bond0"]


# --- SUSE wicked: a host route to the gateway before the route via it ------------------------

def test_wicked_routes_reach_the_gateway_through_a_host_route_first(tmp_path):
    files, _ = run(tmp_path, document(), "sles 15", "wicked")
    lines = [l for l in files["etc/sysconfig/network/routes"].splitlines()
             if not l.startswith("#")]
    assert lines == [f"{GW4}/32 - - bond0", f"default {GW4} - bond0",
                     f"{GW6}/128 - - bond0", f"default {GW6} - bond0"]
    lines = [l for l in files["etc/sysconfig/network/ifroute-bond0"].splitlines()
             if not l.startswith("#")]
    assert lines == [f"{GW_PRIVATE}/32 - - bond0", f"10.0.0.0/8 {GW_PRIVATE} - bond0"]
