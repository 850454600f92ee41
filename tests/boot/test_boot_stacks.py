"""Boot proof of the tool's real output: every stack it writes, read by the real reader.

Each case runs ``packet-networking`` into a copy of a cached Debian 12 root (metadata
below, a JSON NIC list whose MACs are the VM's NICs and whose names are the ones the
guest gives them), enables only that stack's services, boots the image under QEMU and
checks what the guest reports once its network is up against what the metadata says:
every address with its prefix on the right device, the default routes v4/v6 via the
given gateways (on-link where the gateway lies outside its address's network), each
``private_subnets`` route via the private gateway, the bonds (mode, LACP rate and hash
policy for mode 4, members, MAC), DNS and the hostname.

Families (the first word of a case id, so ``-k redhat`` selects them):

- ``eni``, ``netplan``, ``networkd``, ``networkmanager``: ``-o 'debian 12'`` with that
  renderer, on the base image;
- ``redhat``: ``-o 'rocky 8' --renderer ifcfg-rh``, read by NetworkManager's ifcfg-rh plugin
  (the "ifcfg-rh" image variant: NetworkManager rebuilt with it, see nm_ifcfg_rh.py); the
  journal must say the plugin loaded and NetworkManager's connections must come from the
  ifcfg files;
- ``alpine``: ``-o 'alpine 3.19'``, read by ifupdown-ng (the "ifupdown-ng" variant), NICs
  named eth0, eth1... (``net.ifnames=0``) as Alpine names them.

The selected cases boot together, ``PN_BOOT_PARALLEL`` (default 2) at a time.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

import vmharness as vm

REPO = Path(__file__).resolve().parents[2]
RESOLVER = "192.0.2.53"


def mac(i: int) -> str:
    return "02:00:00:00:5e:%02x" % (0x10 + i)


@dataclasses.dataclass(frozen=True)
class Family:
    """How one family's output is booted: the tool's ``-o`` and ``--renderer``, the
    harness stack whose services run, the image variant (None: the base) and whether the
    guest names NICs predictably (enp0s16...) or as the kernel does (eth0...)."""

    os_option: str
    renderer: str
    stack: str
    variant: str | None = None
    ifnames: bool = True

    def nic(self, i: int) -> str:
        return vm.guest_nic_name(i) if self.ifnames else "eth%d" % i


FAMILIES = {
    "eni": Family("debian 12", "eni", "eni"),
    "netplan": Family("debian 12", "netplan", "netplan"),
    "networkd": Family("debian 12", "networkd", "networkd"),
    "networkmanager": Family("debian 12", "networkmanager", "networkmanager"),
    "redhat": Family("rocky 8", "ifcfg-rh", "ifcfg-rh", variant="ifcfg-rh"),
    "alpine": Family("alpine 3.19", "eni", "ifupdown-ng", variant="ifupdown-ng",
                     ifnames=False),
}


def family_of(case: str) -> Family:
    return FAMILIES[case.split("-")[0]]


def nic(i: int) -> str:
    return vm.guest_nic_name(i)


# Addresses: documentation ranges for the public side, a 10.x private /31.
PUBLIC4 = {"address_family": 4, "public": True, "management": True,
           "address": "198.51.100.23", "cidr": 31, "gateway": "198.51.100.22"}
PUBLIC6 = {"address_family": 6, "public": True, "management": True,
           "address": "2001:db8:10:2a00::3", "cidr": 127, "gateway": "2001:db8:10:2a00::2"}
PRIVATE4 = {"address_family": 4, "public": False, "management": True,
            "address": "10.66.4.5", "cidr": 31, "gateway": "10.66.4.4"}
# Gateways outside their address's network (as in Hegel's mock: .114/31 via .113):
# configured on-link.
ONLINK4 = {"address_family": 4, "public": True, "management": True,
           "address": "198.51.100.114", "cidr": 31, "gateway": "198.51.100.113"}
ONLINK6 = {"address_family": 6, "public": True, "management": True,
           "address": "2001:db8:10:2a00::3", "cidr": 127, "gateway": "2001:db8:10:2a00::1"}
ONLINK_PRIVATE4 = {"address_family": 4, "public": False, "management": True,
                   "address": "10.66.4.5", "cidr": 31, "gateway": "10.66.4.1"}
# An elastic IP (management false) is never configured: it must not appear.
ELASTIC = {"address_family": 4, "public": True, "management": False,
           "address": "203.0.113.77", "cidr": 32, "gateway": "203.0.113.77"}

BOND_MODES = {
    0: "load balancing (round-robin)",
    1: "fault-tolerance (active-backup)",
    2: "load balancing (xor)",
    4: "IEEE 802.3ad Dynamic link aggregation",
    5: "transmit load balancing",
}


def metadata(hostname, mode, aggregation, bonds, addresses, private_subnets=("10.0.0.0/8",),
             dhcp=False):
    """``bonds[i]`` is the bond of NIC i (or None): also sets how many NICs exist."""
    interfaces = []
    for i, bond in enumerate(bonds):
        entry = {"name": "eth%d" % i, "mac": mac(i)}
        if bond:
            entry["bond"] = bond
        if dhcp:
            entry["dhcp"] = True
        interfaces.append(entry)
    return {
        "hostname": hostname,
        "plan": "c3.small.x86",
        "private_subnets": list(private_subnets),
        "network": {
            "bonding": {"mode": mode, "link_aggregation": aggregation, "mac": mac(0)},
            "interfaces": interfaces,
            "addresses": [copy.deepcopy(a) for a in addresses],
        },
    }


def bonded(name, mode=4, aggregation="bonded", addresses=(PUBLIC4, PUBLIC6, PRIVATE4)):
    return metadata(name, mode, aggregation, ["bond0", "bond0"], list(addresses))


ONLINK = (ONLINK4, ONLINK6, ONLINK_PRIVATE4)

# name -> metadata; the family is the name's first word, the expectations are derived
# from the metadata.
CASES = {
    "eni-bonded": metadata(
        "eni-bonded.example.net", 4, "bonded", ["bond0", "bond0"],
        [PUBLIC4, PUBLIC6, PRIVATE4, ELASTIC]),
    "eni-individual": metadata(
        "eni-individual", 4, "individual", [None, None], [PUBLIC4, PUBLIC6, PRIVATE4]),
    "eni-two-bonds": metadata(
        "eni-two-bonds.example.net", 2, "bonded", ["bond0", "bond1", "bond0", "bond1"],
        [PUBLIC4, PUBLIC6, PRIVATE4]),
    "eni-private-only": metadata(
        "eni-private", 1, "bonded", ["bond0", "bond0"], [PRIVATE4],
        private_subnets=("10.0.0.0/8", "172.16.0.0/12")),
    "eni-onlink": bonded("eni-onlink.example.net", addresses=ONLINK),
    "netplan-bonded": bonded("netplan-bonded.example.net", 4, "mlag_ha"),
    "netplan-dhcp": metadata(
        "netplan-dhcp", 4, "individual", [None], [], private_subnets=(), dhcp=True),
    "netplan-onlink": bonded("netplan-onlink.example.net", addresses=ONLINK),
    "networkmanager-bonded": bonded("nm-bonded.example.net", 1),
    "networkmanager-onlink": bonded("nm-onlink.example.net", addresses=ONLINK),
    "networkd-bonded": bonded("networkd-bonded.example.net", 5),
    "networkd-onlink": bonded("networkd-onlink.example.net", addresses=ONLINK),
    "redhat-bonded": metadata(
        "redhat-bonded.example.net", 4, "bonded", ["bond0", "bond0"],
        [PUBLIC4, PUBLIC6, PRIVATE4, ELASTIC]),
    "redhat-individual": metadata(
        "redhat-individual", 4, "individual", [None, None], [PUBLIC4, PUBLIC6, PRIVATE4]),
    "redhat-two-bonds": metadata(
        "redhat-two-bonds.example.net", 4, "bonded", ["bond0", "bond1", "bond0", "bond1"],
        [PUBLIC4, PUBLIC6, PRIVATE4]),
    "redhat-private-only": metadata(
        "redhat-private", 1, "bonded", ["bond0", "bond0"], [PRIVATE4],
        private_subnets=("10.0.0.0/8", "172.16.0.0/12")),
    # mode 1: with 802.3ad and no LACP partner the virtio ports pass no traffic, so a
    # lease would never come
    "redhat-dhcp": metadata(
        "redhat-dhcp", 1, "bonded", ["bond0", "bond0"], [], private_subnets=(), dhcp=True),
    "redhat-onlink": bonded("redhat-onlink.example.net", addresses=ONLINK),
    "alpine-bonded": metadata(
        "alpine-bonded.example.net", 4, "bonded", ["bond0", "bond0"],
        [PUBLIC4, PUBLIC6, PRIVATE4, ELASTIC]),
    "alpine-individual": metadata(
        "alpine-individual", 4, "individual", [None, None], [PUBLIC4, PUBLIC6, PRIVATE4]),
}


# --------------------------------------------------------------------------
# What the metadata says (independent of the tool's model)
# --------------------------------------------------------------------------


def _onlink(address) -> bool:
    """The metadata's gateway lies outside the address's network."""
    network = ipaddress.ip_interface("%s/%s" % (address["address"], address["cidr"])).network
    return ipaddress.ip_address(address["gateway"]) not in network


class Expected:
    def __init__(self, meta, family: Family):
        net = meta["network"]
        self.family = family
        self.hostname = meta["hostname"]
        self.macs = [i["mac"] for i in net["interfaces"]]
        self.nics = [family.nic(i) for i in range(len(self.macs))]
        self.dhcp = any(i.get("dhcp") for i in net["interfaces"])
        aggregation = net["bonding"]["link_aggregation"]
        self.mode = net["bonding"]["mode"]
        self.bond_mac = net["bonding"]["mac"]
        self.bonds: dict[str, list[str]] = {}
        if aggregation != "individual":
            for i, spec in enumerate(net["interfaces"]):
                if spec.get("bond"):
                    self.bonds.setdefault(spec["bond"], []).append(self.nics[i])
        self.device = "bond0" if self.bonds else self.nics[0]
        # every device the files configure (bonds, their members, or every NIC)
        self.devices = sorted(set(self.bonds) | set(self.nics))
        managed = [a for a in net["addresses"] if a.get("management")]
        self.public4 = next((a for a in managed if a["address_family"] == 4 and a["public"]), None)
        self.public6 = next((a for a in managed if a["address_family"] == 6 and a["public"]), None)
        self.private4 = next(
            (a for a in managed if a["address_family"] == 4 and not a["public"]), None)
        self.addresses = {"%s/%s" % (a["address"], a["cidr"])
                          for a in (self.public4, self.public6, self.private4) if a}
        self.unmanaged = {a["address"] for a in net["addresses"] if not a.get("management")}
        primary4 = self.public4 or self.private4
        self.gateway4 = primary4["gateway"] if primary4 else None
        self.gateway6 = self.public6["gateway"] if self.public6 else None
        self.onlink4 = bool(primary4) and _onlink(primary4)
        self.onlink6 = bool(self.public6) and _onlink(self.public6)
        self.private_onlink = bool(self.private4) and _onlink(self.private4)
        self.private_routes = (
            {cidr: self.private4["gateway"] for cidr in meta["private_subnets"]}
            if self.private4 else {})
        self.wait_for = [a["address"] for a in (self.public4, self.public6, self.private4) if a]
        if self.dhcp:
            self.wait_for = ["10.0.2.15"]

    def text(self):
        parts = ["hostname %s" % self.hostname]
        if self.dhcp:
            parts.append("%s with 10.0.2.15/24 by DHCP, default via 10.0.2.2" % self.device)
        else:
            parts.append("%s with %s" % (self.device, ", ".join(sorted(self.addresses))))
            parts.append("default v4 via %s%s, v6 via %s%s"
                         % (self.gateway4, " (on-link)" if self.onlink4 else "",
                            self.gateway6, " (on-link)" if self.onlink6 else ""))
            parts.extend("%s via %s" % kv for kv in sorted(self.private_routes.items()))
        for bond, members in sorted(self.bonds.items()):
            parts.append("%s mode %s members %s MAC %s" % (bond, self.mode, members,
                                                             self.bond_mac if bond == "bond0"
                                                             else "(its first member's)"))
        return "; ".join(parts)


def run_tool(family: Family, meta, root: Path) -> None:
    """Run packet-networking into ``root`` the way provisioning does."""
    work = root.parent
    (work / "metadata.json").write_text(json.dumps(meta, indent=1))
    nics = [{"name": family.nic(i), "mac": m["mac"]}
            for i, m in enumerate(meta["network"]["interfaces"])]
    (work / "nics.json").write_text(json.dumps(nics, indent=1))
    proc = subprocess.run(
        [sys.executable, "-m", "packetnetworking", "-M", str(work / "metadata.json"),
         "--nics-file", str(work / "nics.json"), "-o", family.os_option, "-t", str(root),
         "--renderer", family.renderer, "--resolvers", RESOLVER, "-v"],
        cwd=str(REPO), capture_output=True, text=True, timeout=120,
    )
    (work / "tool.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise vm.HarnessError("packet-networking exited %d:\n%s%s"
                              % (proc.returncode, proc.stdout, proc.stderr))


def make_case(name, boot_env) -> vm.Case:
    family, meta = family_of(name), CASES[name]
    expected = Expected(meta, family)
    return vm.Case(
        name=name,
        stack=family.stack,
        macs=expected.macs,
        populate=lambda root: run_tool(family, meta, root),
        wait_for=expected.wait_for,
        expected=expected.text(),
        isolated=not expected.dhcp,  # a restricted user network offers no router by DHCP
        ifnames=family.ifnames,
        base=boot_env.variant(family.variant) if family.variant else None,
    )


@pytest.fixture(scope="module")
def booted(request, boot_env):
    """Boot every selected case of this module at once (2 at a time)."""
    names = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is request.module and callspec and "case" in callspec.params:
            if callspec.params["case"] not in names and not item.get_closest_marker("skip"):
                names.append(callspec.params["case"])
    cases, failed = [], {}
    for name in names:
        try:
            cases.append(make_case(name, boot_env))
        except vm.HarnessError as exc:  # an image variant that could not be built
            failed[name] = exc
    return {**boot_env.run(cases), **failed}


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


class Checker:
    def __init__(self, name, result):
        self.name = name
        self.result = result
        self.report = result["report"]
        self.family = family_of(name)
        self.expected = Expected(CASES[name], self.family)
        self.errors: list[str] = []

    def check(self, condition, what):
        if not condition:
            self.errors.append(what)

    def finish(self):
        if self.errors:
            console = self.result.get("console_log")
            excerpt = vm.console_excerpt(console, tail=40) if console and Path(console).exists() \
                else "(no console log)"
            pytest.fail(
                "%s: %d check(s) failed:\n  - %s\nexpected (from the metadata): %s\n%s\n"
                "--- console excerpt ---\n%s"
                % (self.name, len(self.errors), "\n  - ".join(self.errors),
                   self.expected.text(), vm.describe(self.result), excerpt),
                pytrace=False,
            )


MAIN_UNIT = {"eni": "networking.service", "ifupdown-ng": "networking.service",
             "netplan": "systemd-networkd.service", "networkd": "systemd-networkd.service",
             "networkmanager": "NetworkManager.service", "ifcfg-rh": "NetworkManager.service"}


def check_stack_ran(c: Checker) -> None:
    report = c.report
    units = report["units"]
    main = MAIN_UNIT[c.family.stack]
    c.check(units.get(main) == "active", "%s is %r, want active" % (main, units.get(main)))
    for other in {"networking.service", "systemd-networkd.service",
                  "NetworkManager.service"} - {main}:
        c.check(units.get(other) in ("inactive", None),
                "%s is %r, only %s should run" % (other, units.get(other), main))
    c.check(report["failed_units"] == [], "failed units: %s" % report["failed_units"])
    c.check(report["settle"]["settled"], "network did not settle: %s" % report["settle"])


SCRIPTS = "/etc/sysconfig/network-scripts"


def nm_connections(report):
    """``[(name, device, filename)]`` from ``nmcli -t -f NAME,DEVICE,FILENAME``."""
    rows = []
    for line in (report.get("nm_connections") or "").splitlines():
        fields = line.replace("\\:", "\0").split(":")  # -t escapes ':' in values
        if len(fields) == 3:
            rows.append(tuple(f.replace("\0", ":") for f in fields))
    return rows


def check_ifcfg_rh(c: Checker) -> None:
    """NetworkManager read the ifcfg files: its ifcfg-rh plugin loaded (a plugin that fails
    to load is a mere warning, and NetworkManager then brings the NICs up with DHCP
    profiles of its own), and every configured device runs a connection loaded from its
    ifcfg file, none from anywhere else."""
    plugin_lines = c.report.get("nm_plugin_lines") or []
    c.check(any("Loaded settings plugin: ifcfg-rh" in line for line in plugin_lines),
            "NetworkManager's journal does not say 'Loaded settings plugin: ifcfg-rh': %s"
            % plugin_lines)
    rows = nm_connections(c.report)
    active = {device: filename for _, device, filename in rows if device}
    # individual layouts: the other NICs' files say ONBOOT=no (up to the operator)
    started = c.expected.devices if c.expected.bonds else [c.expected.device]
    for device in started:
        c.check(active.get(device) == "%s/ifcfg-%s" % (SCRIPTS, device),
                "%s runs %r, want the connection from %s/ifcfg-%s (nmcli: %s)"
                % (device, active.get(device), SCRIPTS, device, rows))
    strays = {d: f for d, f in active.items() if not f.startswith(SCRIPTS + "/") and d != "lo"}
    c.check(not strays, "connections not from the ifcfg files are active: %s" % strays)


def check_host(c: Checker) -> None:
    # The metadata's hostname, fully qualified or its first label (both are
    # usual in /etc/hostname); the running hostname must be what the file says.
    fqdn = c.expected.hostname
    allowed = {fqdn, fqdn.split(".")[0]}
    running = c.report["hostname"]
    etc = (c.report.get("etc_hostname") or "").strip()
    c.check(running in allowed, "hostname %r, want one of %s" % (running, sorted(allowed)))
    c.check(etc == running, "/etc/hostname %r, running hostname %r" % (etc, running))


def default_routes(c: Checker, family):
    """``{(gateway, dev)}`` of the IPv4 or IPv6 default routes in the guest.

    QEMU's user network sends IPv6 router advertisements (router fe80::2). Every stack
    turns them off on the devices of a static layout, so a default route learned from
    them (``protocol ra``) is a failure like any other extra route.
    """
    routes = c.report["route" if family == 4 else "route6"]
    return {(r.get("gateway"), r.get("dev")) for r in routes if r.get("dst") == "default"}


def check_onlink(c: Checker, dst, gateway, family=4) -> None:
    route = vm.find_route(c.report, dst, family)
    c.check(route is not None and "onlink" in route.get("flags", []),
            "route %s via %s is not on-link: %s" % (dst, gateway, route))


def check_router_advertisements_off(c: Checker) -> None:
    """Every device the static layout configures ignores router advertisements (or has
    no IPv6 at all: NetworkManager's ipv6.method=disabled)."""
    accept_ra, disabled = c.report.get("accept_ra", {}), c.report.get("disable_ipv6", {})
    for device in c.expected.devices:
        c.check(accept_ra.get(device) == "0" or disabled.get(device) == "1",
                "%s accept_ra is %r (disable_ipv6 %r), want 0"
                % (device, accept_ra.get(device), disabled.get(device)))


def check_static(c: Checker) -> None:
    e, report = c.expected, c.report
    got = vm.addresses(report, e.device)
    c.check(e.addresses <= got,
            "%s has %s, want %s" % (e.device, sorted(got), sorted(e.addresses)))
    for address in e.addresses:
        owner = vm.address_owner(report, address)
        c.check(owner == e.device, "%s is on %s, want %s" % (address, owner, e.device))
    everywhere = vm.addresses(report)
    c.check(everywhere == e.addresses,
            "global addresses in the guest %s, want exactly %s"
            % (sorted(everywhere), sorted(e.addresses)))
    for address in e.unmanaged:
        c.check(vm.address_owner(report, address) is None,
                "unmanaged (elastic) %s is configured" % address)

    want4 = {(e.gateway4, e.device)}
    got4 = default_routes(c, 4)
    c.check(got4 == want4, "IPv4 default routes %s, want %s" % (sorted(got4), sorted(want4)))
    want6 = {(e.gateway6, e.device)} if e.gateway6 else set()
    got6 = default_routes(c, 6)
    c.check(got6 == want6, "IPv6 default routes %s, want %s" % (sorted(got6), sorted(want6)))
    if e.onlink4:
        check_onlink(c, "default", e.gateway4)
    if e.onlink6:
        check_onlink(c, "default", e.gateway6, 6)
    for cidr, gateway in e.private_routes.items():
        route = vm.find_route(report, cidr)
        c.check(route is not None and route.get("gateway") == gateway
                and route.get("dev") == e.device,
                "route %s: %s, want via %s dev %s" % (cidr, route, gateway, e.device))
        if e.private_onlink:
            check_onlink(c, cidr, gateway)
    check_router_advertisements_off(c)

    resolv = report.get("resolv_conf") or ""
    c.check("nameserver %s" % RESOLVER in resolv,
            "resolv.conf %r lacks nameserver %s" % (resolv, RESOLVER))


def check_bonds(c: Checker) -> None:
    e, report = c.expected, c.report
    present = set(report["bonding"])
    c.check(present == set(e.bonds), "bonds %s, want %s" % (sorted(present), sorted(e.bonds)))
    for bond, members in sorted(e.bonds.items()):
        if bond not in report["bonding"]:
            continue
        info = vm.parse_bonding(report["bonding"][bond])
        c.check(info.get("mode") == BOND_MODES[e.mode],
                "%s mode %r, want %r (mode %s)" % (bond, info.get("mode"), BOND_MODES[e.mode],
                                                    e.mode))
        c.check(sorted(info["slaves"]) == sorted(members),
                "%s members %s, want %s" % (bond, sorted(info["slaves"]), sorted(members)))
        c.check(info.get("mii_status") == "up", "%s MII status %r" % (bond, info.get("mii_status")))
        c.check(info.get("miimon") == "100", "%s miimon %r, want 100" % (bond, info.get("miimon")))
        if e.mode == 4:
            c.check(info.get("lacp_rate") == "fast",
                    "%s LACP rate %r, want fast" % (bond, info.get("lacp_rate")))
        if e.mode in (2, 4):
            c.check((info.get("xmit_hash_policy") or "").startswith("layer3+4"),
                    "%s hash policy %r, want layer3+4" % (bond, info.get("xmit_hash_policy")))
        for member in members:
            want_mac = e.macs[e.nics.index(member)]
            c.check(info["slave_macs"].get(member) == want_mac,
                    "%s member %s permanent MAC %s, want %s"
                    % (bond, member, info["slave_macs"].get(member), want_mac))
            entry = vm.link(report, member) or {}
            c.check(entry.get("master") == bond,
                    "%s master %r, want %s" % (member, entry.get("master"), bond))
        entry = vm.link(report, bond) or {}
        c.check(entry.get("operstate") == "UP",
                "%s operstate %r, want UP" % (bond, entry.get("operstate")))
        if bond == "bond0":
            want_mac = e.bond_mac
        else:
            want_mac = e.macs[e.nics.index(members[0])]
        c.check(entry.get("address") == want_mac,
                "%s MAC %s, want %s" % (bond, entry.get("address"), want_mac))
        if bond != e.device:
            got = vm.addresses(report, bond)
            c.check(not got, "%s has addresses %s, want none" % (bond, sorted(got)))


def check_dhcp(c: Checker) -> None:
    e, report = c.expected, c.report
    got = vm.addresses(report, e.device)
    c.check("10.0.2.15/24" in got, "%s has %s, want 10.0.2.15/24 by DHCP" % (e.device, sorted(got)))
    dynamic = [a for link in report["addr"] if link.get("ifname") == e.device
               for a in link.get("addr_info", []) if a.get("local") == "10.0.2.15"]
    c.check(any(a.get("dynamic") for a in dynamic),
            "10.0.2.15 on %s is not a DHCP (dynamic) lease: %s" % (e.device, dynamic))
    default4 = vm.find_route(report, "default")
    c.check(default4 is not None and default4.get("gateway") == "10.0.2.2"
            and default4.get("dev") == e.device,
            "IPv4 default route %s, want via 10.0.2.2 dev %s" % (default4, e.device))


@pytest.mark.boot
@pytest.mark.parametrize("case", sorted(CASES))
def test_boot(booted, case):
    result = booted[case]
    if isinstance(result, BaseException):
        raise result
    c = Checker(case, result)
    check_stack_ran(c)
    check_host(c)
    if c.expected.dhcp:
        check_dhcp(c)
    else:
        check_static(c)
    check_bonds(c)
    if c.family.stack == "ifcfg-rh":
        check_ifcfg_rh(c)
    c.finish()


# Pure checks of the expectations (no VM): they must follow the metadata rules.


def test_expected_two_bonds():
    e = Expected(CASES["eni-two-bonds"], FAMILIES["eni"])
    assert e.bonds == {"bond0": [nic(0), nic(2)], "bond1": [nic(1), nic(3)]}
    assert e.device == "bond0" and e.gateway4 == "198.51.100.22"
    assert e.private_routes == {"10.0.0.0/8": "10.66.4.4"}
    assert e.devices == sorted(["bond0", "bond1"] + [nic(i) for i in range(4)])


def test_expected_private_only_and_individual():
    e = Expected(CASES["eni-private-only"], FAMILIES["eni"])
    assert e.gateway4 == "10.66.4.4" and e.gateway6 is None
    assert e.addresses == {"10.66.4.5/31"}
    e = Expected(CASES["eni-individual"], FAMILIES["eni"])
    assert e.bonds == {} and e.device == nic(0)
    e = Expected(CASES["eni-bonded"], FAMILIES["eni"])
    assert "203.0.113.77/32" not in e.addresses and e.unmanaged == {"203.0.113.77"}
    assert not (e.onlink4 or e.onlink6 or e.private_onlink)


def test_expected_alpine_names_and_onlink():
    e = Expected(CASES["alpine-individual"], FAMILIES["alpine"])
    assert e.nics == ["eth0", "eth1"] and e.device == "eth0"
    e = Expected(CASES["eni-onlink"], FAMILIES["eni"])
    assert e.onlink4 and e.onlink6 and e.private_onlink
    assert (e.gateway4, e.gateway6) == ("198.51.100.113", "2001:db8:10:2a00::1")


def test_case_ids_name_their_family():
    assert all(family_of(name) for name in CASES)
    assert {name.split("-")[0] for name in CASES} == set(FAMILIES)
