"""Image-like target roots for the ownership tests (test_ownership, test_units, test_manifest).

Every root is built in a test's ``tmp_path`` from the texts below, written for these
tests after what the images ship (an Ubuntu cloud image's ``50-cloud-init.yaml``,
Debian's ``etc/network/interfaces``, an EL9 ``ifcfg-eth0``, systemd's and
ifupdown's unit files); nothing is read from the host or the shared samples.

The server is stack_cases' default: two NICs ``enp1s0f0`` / ``enp1s0f1`` (metadata
names eth0 / eth1, MACs 0c:c4:7a:aa:00:10 / :11) in an LACP ``bond0``.
"""
import json
import os
from pathlib import Path

from packetnetworking import metadata as md
from packetnetworking.run import Builder
from packetnetworking.nics import NIC
from support.stack_cases import MACS, NAMES, RESOLVERS, document, run_cli

UNITS = {
    "networking.service": """\
[Unit]
Description=Raise network interfaces
DefaultDependencies=no

[Service]
Type=oneshot
ExecStart=/sbin/ifup -a --read-environment
RemainAfterExit=true

[Install]
WantedBy=multi-user.target
WantedBy=network-online.target
""",
    "systemd-networkd.service": """\
[Unit]
Description=Network Configuration

[Service]
Type=notify
ExecStart=!!/lib/systemd/systemd-networkd

[Install]
WantedBy=multi-user.target
Also=systemd-networkd.socket
Alias=dbus-org.freedesktop.network1.service
Also=systemd-networkd-wait-online.service
""",
    "systemd-networkd.socket": """\
[Unit]
Description=Network Service Netlink Socket

[Socket]
ReceiveBuffer=128M
ListenNetlink=route 1361

[Install]
WantedBy=sockets.target
""",
    "systemd-networkd-wait-online.service": """\
[Unit]
Description=Wait for Network to be Configured

[Service]
Type=oneshot
ExecStart=/lib/systemd/systemd-networkd-wait-online

[Install]
WantedBy=network-online.target
""",
    "NetworkManager.service": """\
[Unit]
Description=Network Manager

[Service]
Type=dbus
BusName=org.freedesktop.NetworkManager
ExecStart=/usr/sbin/NetworkManager --no-daemon

[Install]
WantedBy=multi-user.target
Alias=dbus-org.freedesktop.NetworkManager.service
Also=NetworkManager-dispatcher.service
""",
    "NetworkManager-dispatcher.service": """\
[Unit]
Description=Network Manager Script Dispatcher Service

[Service]
Type=dbus
BusName=org.freedesktop.nm_dispatcher
ExecStart=/usr/libexec/nm-dispatcher

[Install]
Alias=dbus-org.freedesktop.nm-dispatcher.service
""",
}

#: cloud-init's netplan file on an Ubuntu cloud image (the first NIC by MAC, DHCP).
CLOUD_INIT_NETPLAN = f"""\
# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.
network:
    ethernets:
        eth0:
            dhcp4: true
            match:
                macaddress: {MACS[0]}
            set-name: eth0
    version: 2
"""
#: A netplan file for a NIC this run does not configure.
OTHER_NETPLAN = """\
network:
  version: 2
  ethernets:
    storage0:
      match: {macaddress: "0c:c4:7a:bb:00:99"}
      addresses: [192.0.2.10/24]
"""
#: Debian's installer output: loopback, interfaces.d, the first NIC on DHCP, plus a
#: spare NIC this run does not configure.
DEBIAN_INTERFACES = f"""\
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
auto {NAMES[0]}
iface {NAMES[0]} inet dhcp

allow-hotplug {NAMES[1]} eth9
iface {NAMES[1]} inet manual

auto eth7
iface eth7 inet static
    address 192.0.2.7/24
"""
#: cloud-init's ENI output in interfaces.d.
CLOUD_INIT_ENI = """\
auto eth0
iface eth0 inet dhcp
"""
#: An EL9 image's ifcfg for the first NIC (by its metadata name, DHCP).
IFCFG_ETH0 = f"""\
DEVICE=eth0
HWADDR={MACS[0].upper()}
BOOTPROTO=dhcp
ONBOOT=yes
TYPE=Ethernet
"""
IFCFG_OTHER = """\
DEVICE=eth9
HWADDR=0C:C4:7A:BB:00:99
BOOTPROTO=none
IPADDR=192.0.2.9
PREFIX=24
ONBOOT=yes
"""
IFCFG_LO = "DEVICE=lo\nIPADDR=127.0.0.1\nNETMASK=255.0.0.0\nONBOOT=yes\n"


def put(root, rel, content="", mode=0o644):
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    os.chmod(path, mode)
    return path


def link(root, rel, target):
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)
    return path


def units(root, *names, directory="lib/systemd/system"):
    for name in names:
        put(root, f"{directory}/{name}", UNITS[name])


def ubuntu_ifupdown_cloud_init(root):
    """An Ubuntu image built with ifupdown (as production images are) that still has
    netplan, cloud-init and cloud-init's 50-cloud-init.yaml."""
    put(root, "sbin/ifup")
    put(root, "usr/sbin/netplan")
    put(root, "usr/bin/cloud-init")
    put(root, "etc/cloud/cloud.cfg", "datasource_list: [ Equinix ]\n")
    put(root, "etc/netplan/50-cloud-init.yaml", CLOUD_INIT_NETPLAN, 0o600)
    put(root, "etc/netplan/60-storage.yaml", OTHER_NETPLAN, 0o600)
    put(root, "etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    units(root, "networking.service")
    return root


def debian_with_interfaces(root, networkd_units=True):
    """A Debian server image: ifupdown with the installer's interfaces file and
    cloud-init's interfaces.d file; systemd-networkd installed but disabled."""
    put(root, "sbin/ifup")
    put(root, "etc/network/interfaces", DEBIAN_INTERFACES)
    put(root, "etc/network/interfaces.d/50-cloud-init", CLOUD_INIT_ENI)
    put(root, "etc/network/interfaces.d/storage", "auto eth8\niface eth8 inet manual\n")
    put(root, "usr/lib/systemd/systemd-networkd")
    units(root, "networking.service")
    link(root, "etc/systemd/system/multi-user.target.wants/networking.service",
         "/lib/systemd/system/networking.service")
    if networkd_units:
        units(root, "systemd-networkd.service", "systemd-networkd.socket",
              "systemd-networkd-wait-online.service")
    return root


def rocky9_networkmanager(root):
    """Rocky 9 with NetworkManager (enabled) and the image build's ifcfg-eth0."""
    put(root, "usr/sbin/NetworkManager")
    put(root, "etc/sysconfig/network-scripts/ifcfg-eth0", IFCFG_ETH0)
    put(root, "etc/sysconfig/network-scripts/ifcfg-eth9", IFCFG_OTHER)
    put(root, "etc/sysconfig/network-scripts/ifcfg-lo", IFCFG_LO)
    units(root, "NetworkManager.service", "NetworkManager-dispatcher.service",
          directory="usr/lib/systemd/system")
    link(root, "lib", "usr/lib")
    return root


def plan(root, os_option, renderer="auto", names=NAMES[:2], doc=None):
    """``{path: FileOp}``: what a run would do to ``root`` (nothing is written)."""
    nics = [NIC(name=name, mac=MACS[i], driver="i40e") for i, name in enumerate(names)]
    builder = Builder(md.parse(doc or document()), nics, os_option, RESOLVERS,
                      {"renderer": renderer}).initialize()
    return builder.plan(str(root))


def cli(tmp_path, root, os_option, *extra, names=NAMES[:2], doc=None):
    """Run the CLI on ``root``: ``(exit code, stderr)``."""
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps(doc or document()))
    nics = tmp_path / "nics.json"
    nics.write_text(json.dumps([{"name": name, "mac": MACS[i], "driver": "i40e"}
                                for i, name in enumerate(names)]))
    return run_cli(["-M", meta, "--nics-file", nics, "-o", os_option, "-t", root,
                    "--resolvers", ",".join(RESOLVERS), *extra])


def actions(ops):
    """``{path: action}`` of a plan, the manifest left out."""
    return {p: op.action for p, op in ops.items()
            if p != "var/lib/packet-networking/manifest.json"}
