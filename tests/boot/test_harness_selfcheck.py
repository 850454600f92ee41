"""Self-check of the boot harness with hand-written configuration files.

Two boots, run in parallel: an ifupdown bond with static IPv4/IPv6/private
addresses, and a netplan (networkd) DHCP interface on QEMU's user network.
They prove that files written into the root reach the guest, that the right
stack runs, and that the report describes the guest's real network state.
"""

import pytest

import vmharness as vm

MACS = ["52:54:00:12:34:10", "52:54:00:12:34:11"]
NIC0, NIC1 = vm.guest_nic_name(0), vm.guest_nic_name(1)

# Physical interfaces first, then the bond, which also lists its slaves: with
# "bond-slaves none" the first slave's ifup raises bond0 before enslaving
# itself, bond0 has no carrier yet, the inet6 stanza's DAD wait times out and
# networking.service fails (seen when booting this harness).
ENI_BOND = """\
auto lo
iface lo inet loopback

auto {nic0}
iface {nic0} inet manual
    bond-master bond0

auto {nic1}
iface {nic1} inet manual
    bond-master bond0

auto bond0
iface bond0 inet static
    address 147.75.1.3
    netmask 255.255.255.254
    gateway 147.75.1.2
    hwaddress {mac0}
    bond-slaves {nic0} {nic1}
    bond-mode 4
    bond-miimon 100
    bond-lacp-rate 1
    bond-xmit_hash_policy layer3+4
    bond-downdelay 200
    bond-updelay 200

iface bond0 inet6 static
    address 2604:1380::1
    netmask 127
    gateway 2604:1380::

auto bond0:0
iface bond0:0 inet static
    address 10.68.1.3
    netmask 255.255.255.254
    post-up ip route add 10.0.0.0/8 via 10.68.1.2
    post-down ip route del 10.0.0.0/8 via 10.68.1.2
""".format(nic0=NIC0, nic1=NIC1, mac0=MACS[0])

NETPLAN_DHCP = """\
network:
  version: 2
  renderer: networkd
  ethernets:
    {nic0}:
      dhcp4: true
""".format(nic0=NIC0)


def eni_case():
    return vm.Case(
        name="selfcheck-eni-bond",
        stack="eni",
        macs=MACS,
        files={
            "/etc/network/interfaces": ENI_BOND,
            "/etc/hostname": "boot-eni\n",
        },
        wait_for=["147.75.1.3", "2604:1380::1", "10.68.1.3"],
        expected="bond0 with 147.75.1.3/31, 2604:1380::1/127, 10.68.1.3/31",
    )


def dhcp_case():
    return vm.Case(
        name="selfcheck-netplan-dhcp",
        stack="netplan",
        macs=MACS[:1],
        files={
            "/etc/netplan/50-pn.yaml": (NETPLAN_DHCP, 0o600),
            "/etc/hostname": "boot-dhcp\n",
        },
        wait_for=["10.0.2.15"],
        expected="%s with 10.0.2.15/24 from QEMU's DHCP" % NIC0,
        isolated=False,  # a restricted user network offers no router by DHCP
    )


@pytest.fixture(scope="module")
def selfcheck(boot_env):
    return boot_env.run([eni_case(), dhcp_case()])


def _result(results, name):
    result = results[name]
    if isinstance(result, BaseException):
        raise result
    return result


def check(result, condition, what):
    if not condition:
        pytest.fail("%s\n%s" % (what, vm.describe(result)), pytrace=False)


@pytest.mark.boot
def test_eni_bond_static(selfcheck):
    result = _result(selfcheck, "selfcheck-eni-bond")
    report = result["report"]
    check(result, report["settle"]["settled"], "network did not settle: %s" % report["settle"])
    check(result, report["units"]["networking.service"] == "active",
          "networking.service: %s" % report["units"])
    check(result, report["units"]["NetworkManager.service"] == "inactive"
          and report["units"]["systemd-networkd.service"] == "inactive",
          "only ifupdown should run: %s" % report["units"])
    check(result, report["failed_units"] == [], "failed units: %s" % report["failed_units"])
    check(result, report["hostname"] == "boot-eni", "hostname %r" % report["hostname"])
    check(result, (report["etc_hostname"] or "").strip() == "boot-eni",
          "/etc/hostname %r" % report["etc_hostname"])

    want = {"147.75.1.3/31", "10.68.1.3/31", "2604:1380::1/127"}
    got = vm.addresses(report, "bond0")
    check(result, want <= got, "bond0 addresses %s, want %s" % (sorted(got), sorted(want)))

    default4 = vm.find_route(report, "default")
    check(result, default4 is not None and default4.get("gateway") == "147.75.1.2"
          and default4.get("dev") == "bond0", "IPv4 default route %s" % default4)
    private = vm.find_route(report, "10.0.0.0/8")
    check(result, private is not None and private.get("gateway") == "10.68.1.2"
          and private.get("dev") == "bond0", "10.0.0.0/8 route %s" % private)
    default6 = vm.find_route(report, "default", family=6)
    check(result, default6 is not None and default6.get("gateway") == "2604:1380::"
          and default6.get("dev") == "bond0", "IPv6 default route %s" % default6)

    check(result, "bond0" in report["bonding"], "no /proc/net/bonding/bond0")
    bond = vm.parse_bonding(report["bonding"]["bond0"])
    check(result, bond.get("mode") == "IEEE 802.3ad Dynamic link aggregation",
          "bond mode %r" % bond.get("mode"))
    check(result, sorted(bond["slaves"]) == [NIC0, NIC1], "bond slaves %s" % bond["slaves"])
    check(result, bond.get("miimon") == "100", "miimon %r" % bond.get("miimon"))
    check(result, bond.get("lacp_rate") == "fast", "lacp rate %r" % bond.get("lacp_rate"))
    check(result, (bond.get("xmit_hash_policy") or "").startswith("layer3+4"),
          "xmit hash policy %r" % bond.get("xmit_hash_policy"))
    check(result, bond["slave_macs"] == {NIC0: MACS[0], NIC1: MACS[1]},
          "slave MACs %s" % bond["slave_macs"])
    bond_link = vm.link(report, "bond0")
    check(result, bond_link is not None and bond_link.get("address") == MACS[0],
          "bond0 MAC %s" % (bond_link or {}).get("address"))
    for nic in (NIC0, NIC1):
        entry = vm.link(report, nic)
        check(result, entry is not None and entry.get("master") == "bond0",
              "%s master %s" % (nic, (entry or {}).get("master")))


@pytest.mark.boot
def test_netplan_dhcp(selfcheck):
    result = _result(selfcheck, "selfcheck-netplan-dhcp")
    report = result["report"]
    check(result, report["settle"]["settled"], "network did not settle: %s" % report["settle"])
    check(result, report["units"]["systemd-networkd.service"] == "active",
          "systemd-networkd: %s" % report["units"])
    check(result, report["units"]["networking.service"] == "inactive"
          and report["units"]["NetworkManager.service"] == "inactive",
          "only networkd should run: %s" % report["units"])
    check(result, report["failed_units"] == [], "failed units: %s" % report["failed_units"])
    check(result, report["hostname"] == "boot-dhcp", "hostname %r" % report["hostname"])
    got = vm.addresses(report, NIC0)
    check(result, "10.0.2.15/24" in got, "%s addresses %s" % (NIC0, sorted(got)))
    default4 = vm.find_route(report, "default")
    check(result, default4 is not None and default4.get("gateway") == "10.0.2.2"
          and default4.get("dev") == NIC0, "IPv4 default route %s" % default4)
    check(result, vm.link(report, NIC0).get("address") == MACS[0], "NIC MAC")


# Pure checks of the harness helpers (no VM, run in every pytest run).


def test_guest_nic_name():
    assert [vm.guest_nic_name(i) for i in (0, 1, 15)] == ["enp0s16", "enp0s17", "enp0s31"]
    with pytest.raises(ValueError):
        vm.guest_nic_name(16)


def test_parse_bonding():
    text = (
        "Bonding Mode: IEEE 802.3ad Dynamic link aggregation\n"
        "Transmit Hash Policy: layer3+4 (1)\nMII Status: up\n"
        "MII Polling Interval (ms): 100\n\n802.3ad info\nLACP rate: fast\n\n"
        "Slave Interface: enp0s16\nMII Status: up\n"
        "Permanent HW addr: 52:54:00:12:34:10\n\n"
        "Slave Interface: enp0s17\nMII Status: down\n"
        "Permanent HW addr: 52:54:00:12:34:11\n"
    )
    info = vm.parse_bonding(text)
    assert info["mode"] == "IEEE 802.3ad Dynamic link aggregation"
    assert info["slaves"] == ["enp0s16", "enp0s17"]
    assert info["slave_macs"]["enp0s17"] == "52:54:00:12:34:11"
    assert info["mii_status"] == "up" and info["miimon"] == "100"
    assert info["lacp_rate"] == "fast"


def test_console_excerpt(tmp_path):
    log = tmp_path / "console.log"
    lines = ["\x1b[0;32m  OK  \x1b[0m] Started line %d\r" % i for i in range(100)]
    lines[10] = "[FAILED] Failed to start networking.service"
    log.write_text("\n".join(lines))
    text = vm.console_excerpt(log, tail=5)
    assert "[FAILED] Failed to start networking.service" in text
    assert "Started line 99" in text and "\x1b" not in text and "\r" not in text
    assert "Started line 50" not in text
