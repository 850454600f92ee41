"""Boot proof of the tool's real output: every stack it writes for Debian 12.

Each case runs ``packet-networking`` into a copy of the cached Debian 12 root
(metadata below, a JSON NIC list whose MACs are the VM's NICs and whose names
are the ones the guest gives them), enables only that stack's services, boots
the image under QEMU and checks what the guest reports once its network is up
against what the metadata says: every address with its prefix on the right
device, the default routes v4/v6 via the given gateways, each
``private_subnets`` route via the private gateway, the bonds (mode, LACP rate
and hash policy for mode 4, members, MAC) and the hostname.

The selected cases boot together, ``PN_BOOT_PARALLEL`` (default 2) at a time.
"""

from __future__ import annotations

import copy
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


def nic(i: int) -> str:
    return vm.guest_nic_name(i)


# Addresses: documentation ranges for the public side, a 10.x private /31.
PUBLIC4 = {"address_family": 4, "public": True, "management": True,
           "address": "198.51.100.23", "cidr": 31, "gateway": "198.51.100.22"}
PUBLIC6 = {"address_family": 6, "public": True, "management": True,
           "address": "2001:db8:10:2a00::3", "cidr": 127, "gateway": "2001:db8:10:2a00::2"}
PRIVATE4 = {"address_family": 4, "public": False, "management": True,
            "address": "10.66.4.5", "cidr": 31, "gateway": "10.66.4.4"}
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


# name -> (renderer, metadata); the expectations are derived from the metadata.
CASES = {
    "eni-bonded": ("eni", metadata(
        "eni-bonded.example.net", 4, "bonded", ["bond0", "bond0"],
        [PUBLIC4, PUBLIC6, PRIVATE4, ELASTIC])),
    "eni-individual": ("eni", metadata(
        "eni-individual", 4, "individual", [None, None], [PUBLIC4, PUBLIC6, PRIVATE4])),
    "eni-two-bonds": ("eni", metadata(
        "eni-two-bonds.example.net", 2, "bonded", ["bond0", "bond1", "bond0", "bond1"],
        [PUBLIC4, PUBLIC6, PRIVATE4])),
    "eni-private-only": ("eni", metadata(
        "eni-private", 1, "bonded", ["bond0", "bond0"], [PRIVATE4],
        private_subnets=("10.0.0.0/8", "172.16.0.0/12"))),
    "netplan-bonded": ("netplan", metadata(
        "netplan-bonded.example.net", 4, "mlag_ha", ["bond0", "bond0"],
        [PUBLIC4, PUBLIC6, PRIVATE4])),
    "networkmanager-bonded": ("networkmanager", metadata(
        "nm-bonded.example.net", 1, "bonded", ["bond0", "bond0"],
        [PUBLIC4, PUBLIC6, PRIVATE4])),
    "networkd-bonded": ("networkd", metadata(
        "networkd-bonded.example.net", 5, "bonded", ["bond0", "bond0"],
        [PUBLIC4, PUBLIC6, PRIVATE4])),
    "netplan-dhcp": ("netplan", metadata(
        "netplan-dhcp", 4, "individual", [None], [], private_subnets=(), dhcp=True)),
}


# --------------------------------------------------------------------------
# What the metadata says (independent of the tool's model)
# --------------------------------------------------------------------------


class Expected:
    def __init__(self, meta):
        net = meta["network"]
        self.hostname = meta["hostname"]
        self.macs = [i["mac"] for i in net["interfaces"]]
        self.nics = [nic(i) for i in range(len(self.macs))]
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
            parts.append("default v4 via %s, v6 via %s" % (self.gateway4, self.gateway6))
            parts.extend("%s via %s" % kv for kv in sorted(self.private_routes.items()))
        for bond, members in sorted(self.bonds.items()):
            parts.append("%s mode %s members %s MAC %s" % (bond, self.mode, members,
                                                             self.bond_mac if bond == "bond0"
                                                             else "(its first member's)"))
        return "; ".join(parts)


def run_tool(renderer, meta, root: Path) -> None:
    """Run packet-networking into ``root`` the way provisioning does."""
    work = root.parent
    (work / "metadata.json").write_text(json.dumps(meta, indent=1))
    nics = [{"name": nic(i), "mac": m["mac"]} for i, m in enumerate(meta["network"]["interfaces"])]
    (work / "nics.json").write_text(json.dumps(nics, indent=1))
    proc = subprocess.run(
        [sys.executable, "-m", "packetnetworking", "-M", str(work / "metadata.json"),
         "--nics-file", str(work / "nics.json"), "-o", "debian 12", "-t", str(root),
         "--renderer", renderer, "--resolvers", RESOLVER, "-v"],
        cwd=str(REPO), capture_output=True, text=True, timeout=120,
    )
    (work / "tool.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise vm.HarnessError("packet-networking exited %d:\n%s%s"
                              % (proc.returncode, proc.stdout, proc.stderr))


def make_case(name) -> vm.Case:
    renderer, meta = CASES[name]
    expected = Expected(meta)
    return vm.Case(
        name=name,
        stack=renderer,
        macs=expected.macs,
        populate=lambda root: run_tool(renderer, meta, root),
        wait_for=expected.wait_for,
        expected=expected.text(),
        isolated=not expected.dhcp,  # a restricted user network offers no router by DHCP
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
    return boot_env.run([make_case(n) for n in names])


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


class Checker:
    def __init__(self, name, result):
        self.name = name
        self.result = result
        self.report = result["report"]
        self.expected = Expected(CASES[name][1])
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


def check_stack_ran(c: Checker, stack: str) -> None:
    report = c.report
    units = report["units"]
    main = {"eni": "networking.service", "netplan": "systemd-networkd.service",
            "networkd": "systemd-networkd.service",
            "networkmanager": "NetworkManager.service"}[stack]
    c.check(units.get(main) == "active", "%s is %r, want active" % (main, units.get(main)))
    for other in {"networking.service", "systemd-networkd.service",
                  "NetworkManager.service"} - {main}:
        c.check(units.get(other) in ("inactive", None),
                "%s is %r, only %s should run" % (other, units.get(other), main))
    c.check(report["failed_units"] == [], "failed units: %s" % report["failed_units"])
    c.check(report["settle"]["settled"], "network did not settle: %s" % report["settle"])


def check_host(c: Checker) -> None:
    # The metadata's hostname, fully qualified or its first label (both are
    # usual in /etc/hostname); the running hostname must be what the file says.
    fqdn = c.expected.hostname
    allowed = {fqdn, fqdn.split(".")[0]}
    running = c.report["hostname"]
    etc = (c.report.get("etc_hostname") or "").strip()
    c.check(running in allowed, "hostname %r, want one of %s" % (running, sorted(allowed)))
    c.check(etc == running, "/etc/hostname %r, running hostname %r" % (etc, running))


def configured_defaults(report, family):
    """``{(gateway, dev)}`` of the default routes the guest's configuration made.

    QEMU's user network sends IPv6 router advertisements (router fe80::2); a
    kernel that accepts them on a device without static IPv6 (ifupdown leaves
    accept_ra at the kernel default there) adds a default route with
    protocol ``ra``.  That route comes from the test network, not from the
    files, so it is left out here.
    """
    routes = report["route" if family == 4 else "route6"]
    return {(r.get("gateway"), r.get("dev")) for r in routes
            if r.get("dst") == "default" and r.get("protocol") != "ra"}


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
    got4 = configured_defaults(report, 4)
    c.check(got4 == want4, "IPv4 default routes %s, want %s" % (sorted(got4), sorted(want4)))
    want6 = {(e.gateway6, e.device)} if e.gateway6 else set()
    got6 = configured_defaults(report, 6)
    c.check(got6 == want6, "IPv6 default routes %s, want %s" % (sorted(got6), sorted(want6)))
    for cidr, gateway in e.private_routes.items():
        route = vm.find_route(report, cidr)
        c.check(route is not None and route.get("gateway") == gateway
                and route.get("dev") == e.device,
                "route %s: %s, want via %s dev %s" % (cidr, route, gateway, e.device))

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
    check_stack_ran(c, CASES[case][0])
    check_host(c)
    if c.expected.dhcp:
        check_dhcp(c)
    else:
        check_static(c)
    check_bonds(c)
    c.finish()


# Pure checks of the expectations (no VM): they must follow the metadata rules.


def test_expected_two_bonds():
    e = Expected(CASES["eni-two-bonds"][1])
    assert e.bonds == {"bond0": [nic(0), nic(2)], "bond1": [nic(1), nic(3)]}
    assert e.device == "bond0" and e.gateway4 == "198.51.100.22"
    assert e.private_routes == {"10.0.0.0/8": "10.66.4.4"}


def test_expected_private_only_and_individual():
    e = Expected(CASES["eni-private-only"][1])
    assert e.gateway4 == "10.66.4.4" and e.gateway6 is None
    assert e.addresses == {"10.66.4.5/31"}
    e = Expected(CASES["eni-individual"][1])
    assert e.bonds == {} and e.device == nic(0)
    e = Expected(CASES["eni-bonded"][1])
    assert "203.0.113.77/32" not in e.addresses and e.unmanaged == {"203.0.113.77"}
