"""NIC discovery: lshw parsing (XML, JSON, NIC list), live lshw, sysfs fallback, names, MACs.

Live discovery runs for real on this machine (lshw, /sys/class/net). What cannot exist
here (a second NIC, bond slaves, udev names) comes from small fake ``lshw`` /
``udevadm`` / ``ethtool`` executables put first on PATH and a fake sysfs tree.
"""
import json
import logging
import os
import shutil
import textwrap

import pytest

from support.helpers import lshw_xml
from packetnetworking import nics
from packetnetworking.errors import EXIT_NIC, NICError
from packetnetworking.nics import NIC, load_nics_file


def names_macs(found):
    return [(n.name, n.mac, n.driver) for n in found]


# --- parsing saved captures ------------------------------------------------------------
def node(name, mac, businfo="pci@0000:01:00.0", driver="i40e", extra="", attrs=""):
    parts = [f'<node id="network" claimed="true" class="network" {attrs}>']
    if businfo:
        parts.append(f"<businfo>{businfo}</businfo>")
    if name:
        parts.append(f"<logicalname>{name}</logicalname>")
    if mac:
        parts.append(f"<serial>{mac}</serial>")
    parts.append(f'<configuration><setting id="driver" value="{driver}" />'
                 f'<setting id="link" value="yes" /></configuration>{extra}</node>')
    return "".join(parts)


def test_lshw_list_of_nodes():
    data = lshw_xml([{"name": "enp1s0f0", "mac": "B8:CE:F6:10:20:30"},
                     {"name": "enp1s0f1", "mac": "b8:ce:f6:10:20:31", "driver": "mlx5_core"}])
    assert names_macs(load_nics_file(data)) == [
        ("enp1s0f0", "b8:ce:f6:10:20:30", "i40e"), ("enp1s0f1", "b8:ce:f6:10:20:31", "mlx5_core")]


def test_lshw_single_node_tree_with_nics_at_any_depth():
    data = (f'<?xml version="1.0" standalone="yes" ?><node id="host" class="system">'
            f'<node id="core" class="bus"><node id="pci" class="bridge">'
            f'<node id="pci:1" class="bridge">{node("eno1", "0c:c4:7a:00:00:01")}</node>'
            f'{node("eno2", "0c:c4:7a:00:00:02", businfo="pci@0000:02:00.0")}'
            f'</node></node></node>').encode()
    assert [n.name for n in load_nics_file(data)] == ["eno1", "eno2"]


def test_virtio_parent_is_skipped_and_its_child_kept():
    parent = ('<node id="network" claimed="true" class="network" handle="PCI:0000:00:03.0">'
              '<businfo>pci@0000:00:03.0</businfo><configuration>'
              '<setting id="driver" value="virtio-pci" /></configuration>'
              f'{node("eth0", "02:fc:00:00:00:01", businfo="virtio@2", driver="virtio_net")}'
              '</node>')
    found = load_nics_file(f"<list>{parent}</list>".encode())
    assert names_macs(found) == [("eth0", "02:fc:00:00:00:01", "virtio_net")]
    assert found[0].businfo == "virtio@2"


@pytest.mark.parametrize("virtual", [
    node("bond0", "0c:c4:7a:00:00:01", businfo="", driver="bonding"),
    node("br0", "0c:c4:7a:00:00:01", businfo="", driver="bridge"),
    node("veth1a2b", "0e:00:00:00:00:09", businfo="", driver="veth"),
    node("tap0", "0e:00:00:00:00:08", businfo="", driver="tun", attrs='handle=""'),
    node("bond0.100", "0c:c4:7a:00:00:01", businfo="", driver="802.1Q VLAN Support"),
    node("dummy0", "0e:00:00:00:00:07", businfo="", driver="dummy"),
    node(None, None, businfo="pci@0000:03:00.0", driver=""),          # unclaimed controller
    node(None, "0c:c4:7a:00:00:05"),                                  # no logicalname
    node("ib0", None, driver="mlx4_core"),                            # no serial
    node("eth9", "not-a-mac"),
])
def test_what_is_not_a_physical_port_is_skipped(virtual):
    data = f"<list>{node('eno1', '0c:c4:7a:00:00:01')}{virtual}</list>".encode()
    assert [n.name for n in load_nics_file(data)] == ["eno1"]


def test_disabled_nic_is_kept():
    disabled = node("eno1", "0c:c4:7a:00:00:01", attrs='disabled="true"')
    assert [n.name for n in load_nics_file(f"<list>{disabled}</list>".encode())] == ["eno1"]


def test_lshw_json_array_and_object_and_logicalname_list():
    tree = {"id": "host", "class": "system", "children": [
        {"id": "network:0", "class": "network", "businfo": "pci@0000:01:00.0",
         "logicalname": "eno1", "serial": "0C:C4:7A:00:00:01",
         "configuration": {"driver": "ixgbe"}},
        {"id": "network:1", "class": "network", "businfo": "pci@0000:01:00.1",
         "logicalname": ["eno2", "/dev/something"], "serial": "0c:c4:7a:00:00:02",
         "configuration": {"driver": "ixgbe"}},
        {"id": "network:2", "class": "network", "logicalname": "bond0",
         "serial": "0c:c4:7a:00:00:01", "configuration": {"driver": "bonding"}},
    ]}
    expected = [("eno1", "0c:c4:7a:00:00:01", "ixgbe"), ("eno2", "0c:c4:7a:00:00:02", "ixgbe")]
    assert names_macs(load_nics_file(json.dumps(tree).encode())) == expected
    assert names_macs(load_nics_file(json.dumps([tree]).encode())) == expected


def test_json_nic_list_with_logical_names():
    data = json.dumps([
        {"name": "enp1s0f0", "mac": "B8:CE:F6:10:20:30", "driver": "i40e"},
        {"name": "enp1s0f1", "mac": "b8-ce-f6-10-20-31", "logical_name": "eth1"},
    ]).encode()
    found = load_nics_file(data)
    assert [(n.name, n.mac, n.logical_name, n.driver) for n in found] == [
        ("enp1s0f0", "b8:ce:f6:10:20:30", "enp1s0f0", "i40e"),
        ("enp1s0f1", "b8:ce:f6:10:20:31", "eth1", "")]


@pytest.mark.parametrize("data, expected", [
    (b"", "nics.json is empty; pass `lshw -class network -xml`"),
    (b"eno1 0c:c4:7a:00:00:01", "neither lshw XML nor JSON"),
    (b"<list><node>", "is not valid XML"),
    (b"[{\"name\": ", "is not valid JSON"),
    (b'[{"name": "eth0/../x", "mac": "0c:c4:7a:00:00:01"}]', "is not a safe interface name"),
    (b'[{"name": "eth0\\n", "mac": "0c:c4:7a:00:00:01"}]', "is not a safe interface name"),
    (b'[{"name": "eth0", "mac": "nope"}]', "is not a MAC address"),
    (b'[{"name": "eth0", "mac": "0c:c4:7a:00:00:01", "driver": 5}]', "driver: expected a string"),
    (b'[{"mac": "0c:c4:7a:00:00:01"}]', "is not a safe interface name"),
    ("<list>" + node("eth0;reboot", "0c:c4:7a:00:00:01") + "</list>", "not a safe interface"),
], ids=["empty", "text", "xml", "json", "name-path", "name-newline", "mac", "driver",
        "no-name", "lshw-name"])
def test_bad_nic_files_are_exit_50(data, expected):
    with pytest.raises(NICError) as info:
        load_nics_file(data if isinstance(data, bytes) else data.encode(), "nics.json")
    assert info.value.exit_code == EXIT_NIC
    assert expected in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_xml_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("0c:c4:7a:00:00:42")
    data = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
            f'<list>{node("eno1", "&e;")}</list>').encode()
    try:
        found = load_nics_file(data)
    except NICError:
        return  # refusing the document is fine too
    assert all(n.mac != "0c:c4:7a:00:00:42" for n in found)


def test_huge_capture_is_refused():
    with pytest.raises(NICError, match="larger than"):
        load_nics_file(b" " * (nics.MAX_CAPTURE_BYTES + 1))


# --- live discovery: fake executables and a fake sysfs -------------------------------------
def fake_bin(directory, name, script):
    path = directory / name
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + textwrap.dedent(script))
    path.chmod(0o755)
    return path


@pytest.fixture
def bindir(tmp_path, monkeypatch):
    """A directory first on PATH for fake lshw/udevadm/ethtool (and nothing else of ours)."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    return directory


@pytest.fixture
def no_tools(tmp_path, monkeypatch):
    """PATH without lshw, udevadm or ethtool."""
    directory = tmp_path / "empty-bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    return directory


def fake_sysfs(root, ports, virtual=("lo", "bond0", "veth0")):
    """``root/class/net`` with physical ports ``[(name, address, driver, perm or None)]``."""
    net = root / "class" / "net"
    net.mkdir(parents=True)
    for i, (name, address, driver, perm) in enumerate(ports):
        dev = root / "devices" / "pci0000:00" / f"0000:01:00.{i}"
        dev.mkdir(parents=True)
        drv = root / "bus" / "pci" / "drivers" / driver
        drv.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(drv, dev), dev / "driver")
        iface = net / name
        iface.mkdir()
        (iface / "address").write_text(address + "\n")
        os.symlink(os.path.relpath(dev, iface), iface / "device")
        if perm:
            (iface / "bonding_slave").mkdir()
            (iface / "bonding_slave" / "perm_hwaddr").write_text(perm + "\n")
    for name in virtual:
        (net / name).mkdir()
        (net / name / "address").write_text("0c:c4:7a:00:00:01\n")
    return net


def test_sysfs_discovery_keeps_ports_with_a_device_link(tmp_path):
    net = fake_sysfs(tmp_path, [("eno1", "0C:C4:7A:00:00:01", "ixgbe", None),
                                ("eno2", "0c:c4:7a:00:00:02", "ixgbe", None)])
    found = nics.discover_sysfs(str(net))
    assert names_macs(found) == [("eno1", "0c:c4:7a:00:00:01", "ixgbe"),
                                 ("eno2", "0c:c4:7a:00:00:02", "ixgbe")]


def test_sysfs_discovery_skips_virtual_drivers_even_with_a_device_link(tmp_path):
    net = fake_sysfs(tmp_path, [("eno1", "0c:c4:7a:00:00:01", "ixgbe", None),
                                ("tap0", "0e:00:00:00:00:01", "tun", None)])
    assert [n.name for n in nics.discover_sysfs(str(net))] == ["eno1"]


def test_unreadable_sysfs_is_exit_50(tmp_path):
    with pytest.raises(NICError, match="cannot list"):
        nics.discover_sysfs(str(tmp_path / "missing"))


def test_without_lshw_sysfs_is_read_with_permanent_macs(tmp_path, no_tools, caplog):
    net = fake_sysfs(tmp_path, [("eno1", "0c:c4:7a:00:00:01", "ixgbe", "0c:c4:7a:00:00:01"),
                                ("eno2", "0c:c4:7a:00:00:01", "ixgbe", "0c:c4:7a:00:00:02")])
    with caplog.at_level(logging.INFO):
        found = nics.discover(str(net))
    assert names_macs(found) == [("eno1", "0c:c4:7a:00:00:01", "ixgbe"),
                                 ("eno2", "0c:c4:7a:00:00:02", "ixgbe")]
    messages = [r.getMessage() for r in caplog.records]
    assert any("lshw is not installed" in m for m in messages)
    info = [m for m in messages if m.startswith("name=")]
    assert info == ["name=eno1 driver=ixgbe mac=0c:c4:7a:00:00:01 kernel-name=eno1",
                    "name=eno2 driver=ixgbe mac=0c:c4:7a:00:00:02 kernel-name=eno2"]


BONDED_CAPTURE = textwrap.dedent("""\
    <?xml version="1.0" standalone="yes" ?>
    <list>
      <node id="network:0" claimed="true" class="network" handle="PCI:0000:41:00.0">
        <businfo>pci@0000:41:00.0</businfo><logicalname>eth0</logicalname>
        <serial>40:a6:b7:4e:8a:a0</serial>
        <configuration><setting id="driver" value="i40e" /><setting id="slave" value="yes" />
        </configuration>
      </node>
      <node id="network:1" claimed="true" class="network" handle="PCI:0000:41:00.1">
        <businfo>pci@0000:41:00.1</businfo><logicalname>eth1</logicalname>
        <serial>40:a6:b7:4e:8a:a0</serial>
        <configuration><setting id="driver" value="i40e" /><setting id="slave" value="yes" />
        </configuration>
      </node>
      <node id="network:2" claimed="true" class="network" handle="">
        <logicalname>bond0</logicalname><serial>40:a6:b7:4e:8a:a0</serial>
        <configuration><setting id="driver" value="bonding" /></configuration>
      </node>
    </list>
    """)


def test_live_lshw_on_a_bonded_host_reads_permanent_macs_and_udev_names(tmp_path, bindir,
                                                                        caplog):
    """The provisioning environment bonds the ports: lshw shows the bond's MAC on both
    slaves; sysfs has the permanent ones; udev gives the installed OS's names."""
    capture = tmp_path / "capture.xml"
    capture.write_text(BONDED_CAPTURE)
    fake_bin(bindir, "lshw", f'[ "$1 $2 $3" = "-class network -xml" ] || exit 3\n'
                             f'cat "{capture}"\n')
    fake_bin(bindir, "udevadm", """\
        case "$3" in
          */eth0) printf 'ID_NET_NAME_MAC=enx40a6b74e8aa0\\nID_NET_NAME_PATH=enp65s0f0\\n'
                  printf 'ID_NET_NAME_SLOT=ens1f0\\nINTERFACE=eth0\\n' ;;
          */eth1) printf 'ID_NET_NAME_PATH=enp65s0f1\\nID_NET_NAME_MAC=enx40a6b74e8aa1\\n' ;;
        esac
        """)
    net = fake_sysfs(tmp_path, [("eth0", "40:a6:b7:4e:8a:a0", "i40e", "40:a6:b7:4e:8a:a0"),
                                ("eth1", "40:a6:b7:4e:8a:a0", "i40e", "40:a6:b7:4e:8a:a1")])
    with caplog.at_level(logging.INFO):
        found = nics.discover(str(net))
    assert [(n.name, n.logical_name, n.mac, n.driver) for n in found] == [
        ("ens1f0", "eth0", "40:a6:b7:4e:8a:a0", "i40e"),     # SLOT before PATH and MAC
        ("enp65s0f1", "eth1", "40:a6:b7:4e:8a:a1", "i40e")]  # PATH before MAC
    info = [r.getMessage() for r in caplog.records if r.getMessage().startswith("name=")]
    assert info == ["name=ens1f0 driver=i40e mac=40:a6:b7:4e:8a:a0 kernel-name=eth0",
                    "name=enp65s0f1 driver=i40e mac=40:a6:b7:4e:8a:a1 kernel-name=eth1"]


def test_udev_onboard_name_wins_and_unsafe_udev_names_are_ignored(tmp_path, bindir):
    capture = tmp_path / "capture.xml"
    capture.write_bytes(lshw_xml([{"name": "eth0", "mac": "0c:c4:7a:00:00:01"},
                                  {"name": "eth1", "mac": "0c:c4:7a:00:00:02"}]))
    fake_bin(bindir, "lshw", f'cat "{capture}"\n')
    fake_bin(bindir, "udevadm", """\
        case "$3" in
          */eth0) printf 'ID_NET_NAME_SLOT=ens1f0\\nID_NET_NAME_ONBOARD=eno1\\n' ;;
          */eth1) printf 'ID_NET_NAME_ONBOARD=../../x\\nID_NET_NAME_PATH=enp1s0f1\\n' ;;
        esac
        """)
    net = fake_sysfs(tmp_path, [("eth0", "0c:c4:7a:00:00:01", "i40e", None),
                                ("eth1", "0c:c4:7a:00:00:02", "i40e", None)])
    assert [n.name for n in nics.discover(str(net))] == ["eno1", "enp1s0f1"]


def test_ethtool_permanent_address_is_used_and_all_zero_ignored(tmp_path, bindir):
    capture = tmp_path / "capture.xml"
    capture.write_bytes(lshw_xml([{"name": "eth0", "mac": "0c:c4:7a:00:00:01"},
                                  {"name": "eth1", "mac": "0c:c4:7a:00:00:01"}]))
    fake_bin(bindir, "lshw", f'cat "{capture}"\n')
    fake_bin(bindir, "ethtool", """\
        [ "$1" = "-P" ] || exit 2
        case "$2" in
          eth0) echo "Permanent address: 00:00:00:00:00:00" ;;
          eth1) echo "Permanent address: 0C:C4:7A:00:00:02" ;;
        esac
        """)
    net = fake_sysfs(tmp_path, [("eth0", "0c:c4:7a:00:00:01", "i40e", None),
                                ("eth1", "0c:c4:7a:00:00:01", "i40e", None)])
    assert [n.mac for n in nics.discover(str(net))] == ["0c:c4:7a:00:00:01", "0c:c4:7a:00:00:02"]


@pytest.mark.parametrize("script", [
    "exit 1\n",
    "echo 'this is not xml'\n",
    "echo '<list></list>'\n",     # lshw without root or in a container can find nothing
], ids=["fails", "garbage", "finds-nothing"])
def test_lshw_failing_falls_back_to_sysfs(tmp_path, bindir, script, caplog):
    fake_bin(bindir, "lshw", script)
    net = fake_sysfs(tmp_path, [("eno1", "0c:c4:7a:00:00:01", "ixgbe", None)])
    with caplog.at_level(logging.WARNING):
        found = nics.discover(str(net))
    assert names_macs(found) == [("eno1", "0c:c4:7a:00:00:01", "ixgbe")]
    assert any(f"reading {net} instead" in r.getMessage() for r in caplog.records)


def test_hanging_lshw_is_cut_off_by_its_timeout(tmp_path, bindir, monkeypatch):
    fake_bin(bindir, "lshw", "exec sleep 30\n")
    monkeypatch.setattr(nics, "LSHW_TIMEOUT", 0.5)
    net = fake_sysfs(tmp_path, [("eno1", "0c:c4:7a:00:00:01", "ixgbe", None)])
    assert [n.name for n in nics.discover(str(net))] == ["eno1"]


def test_no_physical_nic_anywhere_is_exit_50(tmp_path, no_tools):
    net = fake_sysfs(tmp_path, [])
    with pytest.raises(NICError) as info:
        nics.discover(str(net))
    assert info.value.exit_code == EXIT_NIC
    assert "no physical NIC found" in info.value.one_line()


# --- live discovery on this machine, for real ----------------------------------------------
def _physical_here():
    base = "/sys/class/net"
    if not os.path.isdir(base):
        return {}
    found = {}
    for name in os.listdir(base):
        if os.path.exists(os.path.join(base, name, "device")):
            with open(os.path.join(base, name, "address")) as f:
                found[name] = f.read().strip().lower()
    return found


def test_live_discovery_on_this_machine(caplog):
    physical = _physical_here()
    if not physical:
        pytest.skip("this machine has no NIC with a device link in /sys/class/net")
    with caplog.at_level(logging.INFO):
        found = nics.discover()
    by_kernel = {n.logical_name: n for n in found}
    assert "lo" not in by_kernel
    assert set(by_kernel) <= set(physical)
    assert by_kernel, f"nothing discovered; sysfs has {physical}"
    for kernel, nic in by_kernel.items():
        assert nic.mac == physical[kernel] or os.path.exists(
            f"/sys/class/net/{kernel}/bonding_slave") or shutil.which("ethtool")
        assert nic.driver and nic.driver not in nics.VIRTUAL_DRIVERS
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("name=")]
    assert len(lines) == len(found)
    if shutil.which("lshw"):
        assert not any("lshw failed" in r.getMessage() for r in caplog.records)


def test_live_sysfs_fallback_on_this_machine_agrees_with_lshw():
    if not _physical_here() or not shutil.which("lshw"):
        pytest.skip("needs lshw and a NIC with a device link here")
    via_lshw = {n.logical_name: n for n in nics.discover()}
    via_sysfs = {n.name: n for n in nics.discover_sysfs()}
    assert set(via_lshw) == set(via_sysfs)
    for name, nic in via_lshw.items():
        assert nic.driver == via_sysfs[name].driver
        if not os.path.exists(f"/sys/class/net/{name}/bonding_slave"):
            assert nic.mac == via_sysfs[name].mac or shutil.which("ethtool")


def test_nic_logical_name_defaults_to_name():
    assert NIC(name="eno1", mac="0c:c4:7a:00:00:01").logical_name == "eno1"


def test_missing_udevadm_is_one_warning_like_a_missing_lshw(tmp_path, no_tools, caplog):
    """Without udev the installed OS's names cannot be asked: the kernel's names are
    kept, and one WARNING says so (as for a missing lshw)."""
    fake_bin(no_tools, "lshw", "exit 1\n")
    net = fake_sysfs(tmp_path, [("eth0", "0c:c4:7a:00:00:01", "ixgbe", None),
                                ("eth1", "0c:c4:7a:00:00:02", "ixgbe", None)])
    with caplog.at_level(logging.WARNING):
        found = nics.discover(str(net))
    assert [n.name for n in found] == ["eth0", "eth1"]
    udev = [r for r in caplog.records if "udevadm is not installed" in r.getMessage()]
    assert len(udev) == 1 and udev[0].levelno == logging.WARNING
    assert "eth0, eth1" in udev[0].getMessage()
