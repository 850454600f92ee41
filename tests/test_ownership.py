"""One stack owns the NICs (issue 12, point 1): the target's other stacks step aside.

Roots shaped like real images (support/ownership_roots.py). Each case is checked twice: at
the task level (what a run plans for the root: ``Builder.plan``) and through the CLI
and the real writer, with the real readers where they run here (``netplan generate``
over the target's etc/netplan, ``ifup --no-act`` over the rewritten interfaces file).
"""
import json
import logging
import re
import shutil
import subprocess

import pytest
import yaml

from support.ownership_roots import (CLOUD_INIT_ENI, CLOUD_INIT_NETPLAN, DEBIAN_INTERFACES, IFCFG_ETH0,
                             IFCFG_LO, IFCFG_OTHER, OTHER_NETPLAN, actions, cli,
                             debian_with_interfaces, plan, put, rocky9_networkmanager,
                             ubuntu_ifupdown_cloud_init)
from packetnetworking.ownership import Devices, step_aside
from packetnetworking.renderers import shared_configs
from packetnetworking.target import TargetRoot
from packetnetworking.tasks import ASIDE_SUFFIX, MOVE_ASIDE, WRITE
from support.helpers import run_cli as run_full
from support.helpers import snapshot
from support.stack_cases import MACS, NAMES, RESOLVERS, document, require_tool
from test_ifupdown_validator import ifup_no_act
from test_networkmanager import CLOUD_INIT_KEYFILE, libnm  # noqa: F401  (a fixture)

CLOUD_CFG = "etc/cloud/cloud.cfg.d/99-packet-networking.cfg"
NM_CONF = "etc/NetworkManager/conf.d/90-packet-networking.conf"
SCRIPTS = "etc/sysconfig/network-scripts"
NM = "etc/NetworkManager/system-connections"


def netplan_networks(tmp_path, root):
    """What the real netplan makes of the target's etc/netplan: ``{file: text}`` of the
    networkd files it generates (``netplan generate --root-dir`` on a copy of etc/netplan,
    so the target itself gets no run/ directory)."""
    copy = tmp_path / "netplan-copy"
    shutil.copytree(root / "etc/netplan", copy / "etc/netplan")
    proc = subprocess.run([require_tool("netplan"), "generate", "--root-dir", str(copy)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = copy / "run/systemd/network"
    return {p.name: p.read_text() for p in sorted(out.iterdir())} if out.is_dir() else {}


def configured_macs(networks):
    return {m.lower() for text in networks.values()
            for m in re.findall(r"(?:Permanent)?MACAddress=(\S+)", text)}


# --- Ubuntu with ifupdown, netplan and cloud-init ----------------------------------------

def test_ubuntu_ifupdown_image_moves_cloud_inits_netplan_file_aside(tmp_path):
    root = ubuntu_ifupdown_cloud_init(tmp_path / "root")
    ops = plan(root, "ubuntu 22.04")
    found = actions(ops)
    assert found["etc/network/interfaces"] == WRITE  # ifupdown is the chosen stack
    assert found["etc/netplan/50-cloud-init.yaml"] == MOVE_ASIDE
    assert "etc/netplan/60-storage.yaml" not in found  # another NIC's file: left alone
    assert yaml.safe_load(ops[CLOUD_CFG].content) == {"network": {"config": "disabled"}}


def test_ubuntu_ifupdown_image_through_the_cli(tmp_path):
    root = ubuntu_ifupdown_cloud_init(tmp_path / "root")
    assert MACS[0] in configured_macs(netplan_networks(tmp_path / "before", root))
    code, err = cli(tmp_path, root, "ubuntu 22.04", "-v")
    assert code == 0, err
    aside = root / f"etc/netplan/50-cloud-init.yaml{ASIDE_SUFFIX}"
    assert not (root / "etc/netplan/50-cloud-init.yaml").exists()
    assert aside.read_text() == CLOUD_INIT_NETPLAN  # restorable by renaming it back
    assert (root / "etc/netplan/60-storage.yaml").read_text() == OTHER_NETPLAN
    # netplan, which still runs at boot, no longer configures our NICs
    networks = netplan_networks(tmp_path, root)
    assert not configured_macs(networks) & set(MACS), networks
    assert yaml.safe_load((root / CLOUD_CFG).read_text()) == {"network": {"config": "disabled"}}
    # -v says what and why, in one line
    line = next(l for l in err.splitlines() if "50-cloud-init.yaml moved aside" in l)
    assert line.startswith("INFO: ") and "enp1s0f0" in line and "eni owns" in line


def test_dry_run_lists_each_move_and_changes_nothing(tmp_path):
    root = ubuntu_ifupdown_cloud_init(tmp_path / "root")
    before = snapshot(root)
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps(document()))
    nics = tmp_path / "n.json"
    nics.write_text(json.dumps([{"name": n, "mac": m} for n, m in zip(NAMES, MACS[:2])]))
    code, out, err = run_full(["-M", meta, "--nics-file", nics, "-o", "ubuntu 22.04", "-t",
                               root, "--resolvers", RESOLVERS[0], "--dry-run"])
    assert code == 0, err
    assert snapshot(root) == before
    assert re.search(r"^move-aside\s+etc/netplan/50-cloud-init\.yaml$", out, re.M), out
    assert re.search(r"^write\s+etc/cloud/cloud\.cfg\.d/99-packet-networking\.cfg$", out, re.M)


def test_no_cloud_init_no_cloud_init_file(tmp_path):
    root = tmp_path / "root"
    put(root, "sbin/ifup")
    assert CLOUD_CFG not in plan(root, "debian 12")


@pytest.mark.parametrize("os_option,renderer", [
    ("debian 12", "eni"), ("ubuntu 24.04", "netplan"), ("rocky 9", "networkmanager"),
    ("rocky 9", "ifcfg-rh"), ("rocky 9", "networkd"), ("sles 15", "wicked"), ("alpine 3.19", "eni"),
    ("flatcar 4081.2.0", "networkd")])
def test_cloud_init_is_told_to_stop_whatever_the_stack(tmp_path, os_option, renderer):
    root = tmp_path / "root"
    put(root, "usr/bin/cloud-init")
    ops = plan(root, os_option, renderer)
    assert yaml.safe_load(ops[CLOUD_CFG].content) == {"network": {"config": "disabled"}}


# --- Debian with etc/network/interfaces, another stack forced ----------------------------

@pytest.mark.parametrize("renderer", ["netplan", "networkd", "networkmanager"])
def test_debian_interfaces_is_reduced_when_another_stack_is_chosen(tmp_path, renderer):
    root = debian_with_interfaces(tmp_path / "root")
    ops = plan(root, "debian 12", renderer)
    reduced = ops["etc/network/interfaces"]
    assert reduced.action == WRITE and reduced.keep_aside
    assert actions(ops)["etc/network/interfaces.d/50-cloud-init"] == MOVE_ASIDE
    assert "etc/network/interfaces.d/storage" not in ops  # eth8 only: left alone
    text = reduced.content
    assert "iface lo inet loopback" in text
    assert NAMES[0] not in text.replace(f"configures bond0, {NAMES[0]}, {NAMES[1]}", "")
    assert "iface eth7 inet static" in text  # another device: kept
    # the glob would also read 50-cloud-init.packet-networking.bak: spelled out instead
    assert "\nsource /etc/network/interfaces.d/*" not in text
    assert "\nsource /etc/network/interfaces.d/storage\n" in text


def test_the_reduced_interfaces_file_brings_up_no_nic_of_ours(tmp_path):
    root = debian_with_interfaces(tmp_path / "root")
    text = plan(root, "debian 12", "networkd")["etc/network/interfaces"].content
    # what ifup reads at boot, with the target's paths seen from here
    copy = tmp_path / "interfaces"
    copy.write_text(text.replace("source /etc/", f"source {root}/etc/"))
    out = ifup_no_act(copy, tmp_path)
    assert "dev lo" in out and "eth7" in out and "eth8" in out
    for name in NAMES[:2] + ["eth0", "bond0"]:
        assert not re.search(rf"\b{name}\b", out), out
    original = tmp_path / "original"
    original.write_text(DEBIAN_INTERFACES.replace("source /etc/", f"source {root}/etc/"))
    assert re.search(rf"\b{NAMES[0]}\b", ifup_no_act(original, tmp_path))  # it did before


@pytest.mark.parametrize("renderer", ["netplan", "networkd"])
def test_debian_interfaces_through_the_cli(tmp_path, renderer):
    root = debian_with_interfaces(tmp_path / "root")
    code, err = cli(tmp_path, root, "debian 12", "--renderer", renderer)
    assert code == 0, err
    assert (root / f"etc/network/interfaces{ASIDE_SUFFIX}").read_text() == DEBIAN_INTERFACES
    assert (root / f"etc/network/interfaces.d/50-cloud-init{ASIDE_SUFFIX}").read_text() == \
        CLOUD_INIT_ENI
    out = ifup_no_act(_seen_from_here(root, tmp_path), tmp_path)
    assert not re.search(rf"\b({NAMES[0]}|{NAMES[1]}|eth0|bond0)\b", out), out


def _seen_from_here(root, tmp_path):
    copy = tmp_path / "interfaces-seen"
    copy.write_text((root / "etc/network/interfaces").read_text()
                    .replace("source /etc/", f"source {root}/etc/"))
    return copy


def test_debian_with_ifupdown_chosen_leaves_interfaces_d_alone(tmp_path):
    """Our interfaces file has no source line: nothing in interfaces.d is read."""
    root = debian_with_interfaces(tmp_path / "root")
    found = actions(plan(root, "debian 12", "eni"))
    assert not [p for p in found if p.startswith("etc/network/interfaces.d/")]
    assert found["etc/network/interfaces"] == WRITE


# --- Rocky 9 with NetworkManager and the image's ifcfg-eth0 ------------------------------

def test_rocky9_keyfiles_move_the_images_ifcfg_aside(tmp_path):
    root = rocky9_networkmanager(tmp_path / "root")
    found = actions(plan(root, "rocky 9"))
    assert found["etc/NetworkManager/system-connections/bond0.nmconnection"] == WRITE
    assert found[f"{SCRIPTS}/ifcfg-eth0"] == MOVE_ASIDE
    assert f"{SCRIPTS}/ifcfg-eth9" not in found and f"{SCRIPTS}/ifcfg-lo" not in found


@pytest.mark.parametrize("renderer", ["auto", "networkd"])
def test_rocky9_through_the_cli(tmp_path, renderer):
    root = rocky9_networkmanager(tmp_path / "root")
    put(root, f"{NM}/cloud-init-eth0.nmconnection", CLOUD_INIT_KEYFILE, 0o600)
    code, err = cli(tmp_path, root, "rocky 9", "--renderer", renderer)
    assert code == 0, err
    scripts = root / SCRIPTS
    assert sorted(p.name for p in scripts.iterdir()) == [
        f"ifcfg-eth0{ASIDE_SUFFIX}", "ifcfg-eth9", "ifcfg-lo"]
    assert (scripts / f"ifcfg-eth0{ASIDE_SUFFIX}").read_text() == IFCFG_ETH0
    assert (scripts / "ifcfg-eth9").read_text() == IFCFG_OTHER
    assert (scripts / "ifcfg-lo").read_text() == IFCFG_LO
    keyfiles = sorted(p.name for p in (root / NM).iterdir())
    if renderer == "auto":  # NetworkManager owns the NICs: cloud-init's profile stays, ours win
        assert keyfiles == ["bond0.nmconnection", "cloud-init-eth0.nmconnection",
                            f"{NAMES[0]}.nmconnection", f"{NAMES[1]}.nmconnection"]
    else:
        assert keyfiles == [f"cloud-init-eth0.nmconnection{ASIDE_SUFFIX}"]
        assert f"mac:{MACS[0]};" in (root / NM_CONF).read_text()  # and it leaves them alone


def test_rocky9_keyfiles_left_are_read_by_libnm(tmp_path, libnm):
    root = rocky9_networkmanager(tmp_path / "root")
    assert cli(tmp_path, root, "rocky 9")[0] == 0
    conns = libnm(root / NM)
    assert sorted(conns) == ["bond0", NAMES[0], NAMES[1]]
    assert conns["bond0"]["ipv4"]["addresses"] == ["198.51.100.23/31", "10.66.4.5/31"]


def test_rocky9_ifcfg_chosen_moves_aside_an_ifcfg_it_does_not_write(tmp_path):
    """Two ifcfg files for one NIC race too: the image's ifcfg-eth0 (the metadata's name
    of the NIC the run calls enp1s0f0) steps aside from our ifcfg-enp1s0f0."""
    root = rocky9_networkmanager(tmp_path / "root")
    found = actions(plan(root, "rocky 9", "ifcfg-rh"))
    assert found[f"{SCRIPTS}/ifcfg-enp1s0f0"] == WRITE
    assert found[f"{SCRIPTS}/ifcfg-eth0"] == MOVE_ASIDE
    assert f"{SCRIPTS}/ifcfg-eth9" not in found


# --- NetworkManager leaves the devices alone where another stack owns them ----------------

@pytest.mark.parametrize("os_option,renderer,expected", [
    ("debian 12", "eni", True), ("debian 12", "networkd", True), ("rocky 9", "networkd", True),
    ("debian 12", "netplan", False),          # netplan marks its devices unmanaged itself
    ("rocky 9", "ifcfg-rh", False),              # NetworkManager reads the ifcfg files
    ("debian 12", "networkmanager", False)])
def test_networkmanager_is_told_to_leave_the_devices_alone(tmp_path, os_option, renderer,
                                                            expected):
    root = tmp_path / "root"
    put(root, "usr/sbin/NetworkManager")
    ops = plan(root, os_option, renderer)
    assert (NM_CONF in ops) is expected
    if expected:
        assert f"unmanaged-devices+=mac:{MACS[0]};mac:{MACS[1]};interface-name:bond0;" in \
            ops[NM_CONF].content
        assert renderer in ops[NM_CONF].content.splitlines()[1]


def test_no_networkmanager_no_unmanaged_file(tmp_path):
    root = tmp_path / "root"
    put(root, "sbin/ifup")
    assert NM_CONF not in plan(root, "debian 12", "eni")


# --- what each stack's files look like, and what is left alone ---------------------------

def _devices():
    from support.stack_cases import build_model
    return Devices.of(build_model(document(), 2).network)


def _aside(tmp_path, files, chosen="eni", configs=None):
    root = tmp_path / "root"
    for rel, text in files.items():
        put(root, rel, text)
    tasks = step_aside(configs or _all_configs(), chosen, _devices(), TargetRoot(str(root)))
    return {p: t.action for p, t in tasks.items()}


def _all_configs():
    from packetnetworking.renderers.eni.foreign import ENI
    from packetnetworking.renderers.ifcfg_rh.foreign import IFCFG_RH
    return [ENI, IFCFG_RH] + shared_configs()


NETWORKD = "etc/systemd/network"

#: (name, {path: content}, chosen stack, paths that step aside)
FILES = [
    ("netplan glob en*", {"etc/netplan/90-default.yaml":
                          "network:\n  ethernets:\n    all-en:\n      match:\n        name: en*\n"
                          "      dhcp4: true\n"}, "eni", ["etc/netplan/90-default.yaml"]),
    ("netplan glob that misses", {"etc/netplan/90-x.yaml":
                                  "network:\n  ethernets:\n    w:\n      match: {name: wl*}\n"},
     "eni", []),
    ("netplan name and MAC must both hold", {"etc/netplan/90-x.yaml":
                                             "network:\n  ethernets:\n    x:\n      match: "
                                             "{name: en*, macaddress: '0c:c4:7a:bb:00:99'}\n"},
     "eni", []),
    ("netplan driver", {"etc/netplan/90-x.yaml":
                        "network:\n  ethernets:\n    x:\n      match:\n        driver: i40e\n"},
     "networkd", ["etc/netplan/90-x.yaml"]),
    ("netplan other driver", {"etc/netplan/90-x.yaml":
                              "network:\n  ethernets:\n    x:\n      match:\n        driver: "
                              "[mlx5_core, ixgbe]\n"}, "networkd", []),
    ("netplan renderer only", {"etc/netplan/01-network-manager-all.yaml":
                               "network:\n  version: 2\n  renderer: NetworkManager\n"},
     "netplan", []),
    ("netplan bond in another file than its members", {
        "etc/netplan/10-nics.yaml": "network:\n  ethernets:\n    nic0:\n      match:\n"
                                    f"        macaddress: \"{MACS[1]}\"\n",
        "etc/netplan/20-bond.yaml": "network:\n  bonds:\n    bond7:\n      interfaces: [nic0]\n"
                                    "      dhcp4: true\n"},
     "netplan", ["etc/netplan/10-nics.yaml", "etc/netplan/20-bond.yaml"]),
    ("netplan that cannot be read", {"etc/netplan/70-anchors.yaml":
                                     "network:\n  ethernets:\n    eth0: &x\n      dhcp4: true\n"},
     "networkd", ["etc/netplan/70-anchors.yaml"]),
    ("networkd Name glob", {f"{NETWORKD}/20-wired.network":
                            "[Match]\nName=en*\n\n[Network]\nDHCP=yes\n"},
     "eni", [f"{NETWORKD}/20-wired.network"]),
    ("networkd other name", {f"{NETWORKD}/20-wl.network": "[Match]\nName=wl*\n"}, "eni", []),
    ("networkd inverted", {f"{NETWORKD}/20-x.network": "[Match]\nName=!en* !bond*\n"}, "eni",
     []),
    ("networkd inverted: the bond matches", {f"{NETWORKD}/20-x.network": "[Match]\nName=!en*\n"},
     "eni", [f"{NETWORKD}/20-x.network"]),
    ("networkd empty match", {f"{NETWORKD}/99-all.network": "[Network]\nDHCP=yes\n"},
     "netplan", [f"{NETWORKD}/99-all.network"]),
    ("networkd by MAC", {f"{NETWORKD}/10-m.network":
                         f"[Match]\nMACAddress={MACS[1]}\n[Network]\nDHCP=yes\n"},
     "ifcfg-rh", [f"{NETWORKD}/10-m.network"]),
    ("networkd netdev", {f"{NETWORKD}/10-b.netdev": "[NetDev]\nName=bond0\nKind=bond\n",
                         f"{NETWORKD}/10-c.netdev": "[NetDev]\nName=br9\nKind=bridge\n"},
     "eni", [f"{NETWORKD}/10-b.netdev"]),
    ("networkd chosen: only files sorting before ours", {
        f"{NETWORKD}/00-early.network": "[Match]\nName=en*\n",
        f"{NETWORKD}/50-late.network": "[Match]\nName=en*\n"},
     "networkd", [f"{NETWORKD}/00-early.network"]),
    ("keyfile by interface-name", {
        f"{NM}/a.nmconnection": f"[connection]\nid=a\ntype=ethernet\ninterface-name={NAMES[0]}\n"},
     "eni", [f"{NM}/a.nmconnection"]),
    ("keyfile by MAC, file without extension", {f"{NM}/cloud":
                                                "[connection]\nid=c\ntype=ethernet\n"
                                                f"[ethernet]\nmac-address={MACS[0].upper()}\n"},
     "networkd", [f"{NM}/cloud"]),
    ("keyfile for another NIC, a wifi, a backup", {
        f"{NM}/o.nmconnection": "[connection]\nid=o\ntype=ethernet\n[ethernet]\n"
                                "mac-address=0C:C4:7A:BB:00:99\n",
        f"{NM}/w.nmconnection": "[connection]\nid=w\ntype=wifi\n[wifi]\nssid=x\n",
        f"{NM}/a.nmconnection~": f"[connection]\nid=a\ninterface-name={NAMES[0]}\n"},
     "eni", []),
    ("keyfile port of a moved bond by uuid", {
        f"{NM}/b.nmconnection": "[connection]\nid=bond-x\nuuid=u-1\ntype=bond\n"
                                "interface-name=bond0\n",
        f"{NM}/p.nmconnection": "[connection]\nid=p\ntype=ethernet\nmaster=u-1\n"
                                "slave-type=bond\n[ethernet]\nmac-address=0C:C4:7A:BB:00:98\n"},
     "netplan", [f"{NM}/b.nmconnection", f"{NM}/p.nmconnection"]),
    ("keyfile chosen: stays", {f"{NM}/cloud-init-eth0.nmconnection":
                               "[connection]\nid=c\ntype=ethernet\n[ethernet]\n"
                               f"mac-address={MACS[0]}\n"}, "networkmanager", []),
    ("ifcfg by HWADDR", {f"{SCRIPTS}/ifcfg-System_eth0": f"HWADDR={MACS[1]}\n"},
     "networkmanager", [f"{SCRIPTS}/ifcfg-System_eth0"]),
    ("ifcfg slave of our bond, route file", {
        f"{SCRIPTS}/ifcfg-p7": "DEVICE=p7\nMASTER=bond0\nSLAVE=yes\n",
        f"{SCRIPTS}/route-bond0": "10.0.0.0/8 via 10.0.0.1\n",
        f"{SCRIPTS}/route-eth9": "10.0.0.0/8 via 10.0.0.1\n"},
     "networkd", [f"{SCRIPTS}/ifcfg-p7", f"{SCRIPTS}/route-bond0"]),
    ("interfaces.d alias and vlan", {
        "etc/network/interfaces.d/a": f"iface {NAMES[1]}:1 inet static\n address 192.0.2.1/24\n",
        "etc/network/interfaces.d/v": "auto vlan5\niface vlan5 inet manual\n"
                                      f"  vlan-raw-device {NAMES[0]}\n",
        "etc/network/interfaces.d/o": "auto eth5\niface eth5 inet dhcp\n"},
     "netplan", ["etc/network/interfaces.d/a", "etc/network/interfaces.d/v"]),
]


@pytest.mark.parametrize("name,files,chosen,expected", FILES, ids=[f[0] for f in FILES])
def test_which_files_step_aside(tmp_path, name, files, chosen, expected):
    assert sorted(_aside(tmp_path, files, chosen)) == sorted(expected)


def test_each_file_is_one_info_line_with_what_and_why(tmp_path, caplog):
    caplog.set_level(logging.INFO, "packetnetworking.ownership")
    _aside(tmp_path, {f"{SCRIPTS}/ifcfg-eth0": IFCFG_ETH0}, "networkmanager")
    (record,) = caplog.records
    assert record.getMessage() == (
        f"{SCRIPTS}/ifcfg-eth0 moved aside to {SCRIPTS}/ifcfg-eth0{ASIDE_SUFFIX}: it is "
        f"ifcfg-eth0, for {NAMES[0]}; networkmanager owns these devices, not ifcfg-rh")


def test_files_moved_aside_are_not_read_again(tmp_path):
    """A second run finds only the renamed file: nothing more to do."""
    found = _aside(tmp_path, {f"{SCRIPTS}/ifcfg-eth0{ASIDE_SUFFIX}": IFCFG_ETH0,
                              f"etc/netplan/50-cloud-init.yaml{ASIDE_SUFFIX}":
                                  CLOUD_INIT_NETPLAN}, "networkd")
    assert found == {}
