"""The chosen stack is enabled (issue 12, point 2) as ``systemctl enable`` does it.

The real systemctl is the oracle where it runs: ``systemctl --root=ROOT enable`` on a
copy of the root gives the links systemd itself makes, and ``systemctl --root=ROOT
is-enabled`` reads the links the tool made.
"""
import logging
import os
import shutil
import subprocess

import pytest

from support.ownership_roots import (UNITS, actions, cli, debian_with_interfaces, link, plan, put,
                             rocky9_networkmanager, units)
from packetnetworking.ownership import Unit
from packetnetworking.target import TargetRoot
from packetnetworking.tasks import SYMLINK
from packetnetworking.units import enable

NETWORKD = ("systemd-networkd.service", "systemd-networkd.socket",
            "systemd-networkd-wait-online.service")
SYSTEM = "etc/systemd/system"


def systemctl():
    path = shutil.which("systemctl")
    if path is None:
        if os.environ.get("PN_REQUIRE_VALIDATORS") == "1":
            pytest.fail("systemctl (package systemd) is missing and PN_REQUIRE_VALIDATORS=1")
        pytest.skip("systemctl (package systemd) is not installed")
    return path


def is_enabled(root, unit):
    proc = subprocess.run([systemctl(), f"--root={root}", "is-enabled", unit],
                          capture_output=True, text=True, timeout=60)
    return proc.stdout.strip()


def links(root):
    """``{link path: target}`` under etc/systemd/system."""
    base = root / SYSTEM
    return {str(p.relative_to(root)): os.readlink(p) for p in base.rglob("*") if p.is_symlink()}


def symlinks_planned(ops):
    return {p: op.link for p, op in ops.items() if op.action == SYMLINK}


def test_networkd_on_debian_is_enabled_as_systemctl_would(tmp_path):
    """Debian ships systemd-networkd disabled: --renderer networkd enables it."""
    root = debian_with_interfaces(tmp_path / "root")
    oracle = tmp_path / "oracle"
    shutil.copytree(root, oracle, symlinks=True)
    subprocess.run([systemctl(), f"--root={oracle}", "enable", "systemd-networkd.service"],
                   check=True, capture_output=True, timeout=60)
    planned = symlinks_planned(plan(root, "debian 12", "networkd"))
    assert planned == {p: t for p, t in links(oracle).items() if p not in links(root)}


def test_networkd_on_debian_through_the_cli(tmp_path):
    root = debian_with_interfaces(tmp_path / "root")
    assert is_enabled(root, "systemd-networkd.service") == "disabled"
    code, err = cli(tmp_path, root, "debian 12", "--renderer", "networkd")
    assert code == 0, err
    for unit in NETWORKD:
        assert is_enabled(root, unit) == "enabled", unit


def test_networkmanager_gets_its_alias_and_also_units(tmp_path):
    root = rocky9_networkmanager(tmp_path / "root")
    planned = symlinks_planned(plan(root, "rocky 9"))
    # usr-merged root (lib -> usr/lib): the link names the unit where it really is
    assert planned == {
        f"{SYSTEM}/multi-user.target.wants/NetworkManager.service":
            "/usr/lib/systemd/system/NetworkManager.service",
        f"{SYSTEM}/dbus-org.freedesktop.NetworkManager.service":
            "/usr/lib/systemd/system/NetworkManager.service",
        f"{SYSTEM}/dbus-org.freedesktop.nm-dispatcher.service":
            "/usr/lib/systemd/system/NetworkManager-dispatcher.service"}


def test_networking_service_for_ifupdown(tmp_path):
    root = tmp_path / "root"
    put(root, "sbin/ifup")
    units(root, "networking.service")
    planned = symlinks_planned(plan(root, "debian 12"))
    assert planned == {
        f"{SYSTEM}/multi-user.target.wants/networking.service":
            "/lib/systemd/system/networking.service",
        f"{SYSTEM}/network-online.target.wants/networking.service":
            "/lib/systemd/system/networking.service"}


def test_an_enabled_unit_is_left_as_it_is(tmp_path):
    root = debian_with_interfaces(tmp_path / "root")  # networking.service is enabled there
    assert symlinks_planned(plan(root, "debian 12", "eni")) == {}


def test_a_masked_unit_stays_masked_with_a_warning(tmp_path, caplog):
    root = debian_with_interfaces(tmp_path / "root")
    link(root, f"{SYSTEM}/systemd-networkd.service", "/dev/null")
    caplog.set_level(logging.INFO, "packetnetworking.units")
    planned = symlinks_planned(plan(root, "debian 12", "networkd"))
    assert not [p for p in planned if p.endswith("systemd-networkd.service")]
    assert f"{SYSTEM}/sockets.target.wants/systemd-networkd.socket" in planned
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "systemd-networkd.service is masked" in warning[0].getMessage()


def test_a_masked_unit_through_the_cli(tmp_path):
    root = debian_with_interfaces(tmp_path / "root")
    link(root, f"{SYSTEM}/systemd-networkd.service", "/dev/null")
    code, err = cli(tmp_path, root, "debian 12", "--renderer", "networkd")
    assert code == 0
    assert "WARNING: systemd-networkd.service is masked" in err
    assert os.readlink(root / SYSTEM / "systemd-networkd.service") == "/dev/null"
    assert is_enabled(root, "systemd-networkd.service") == "masked"


def test_a_unit_the_target_does_not_have_is_not_enabled(tmp_path):
    root = debian_with_interfaces(tmp_path / "root", networkd_units=False)
    assert symlinks_planned(plan(root, "debian 12", "networkd")) == {}


def test_a_unit_without_install_section_gets_the_stacks_links(tmp_path):
    root = tmp_path / "root"
    put(root, "lib/systemd/system/systemd-networkd.service", "[Service]\nExecStart=/bin/true\n")
    tasks = enable([Unit("systemd-networkd.service", ("multi-user.target",))],
                   TargetRoot(str(root)))
    assert {p: t.symlink for p, t in tasks.items()} == {
        f"{SYSTEM}/multi-user.target.wants/systemd-networkd.service":
            "/lib/systemd/system/systemd-networkd.service"}


def test_an_administrators_copy_in_etc_is_the_unit(tmp_path):
    root = tmp_path / "root"
    units(root, "networking.service")
    put(root, f"{SYSTEM}/networking.service", UNITS["networking.service"])
    tasks = enable([Unit("networking.service")], TargetRoot(str(root)))
    assert {t.symlink for t in tasks.values()} == {f"/{SYSTEM}/networking.service"}


def test_links_an_earlier_run_made_are_made_again(tmp_path):
    """So the manifest keeps them (and removes them once another stack is chosen)."""
    root = tmp_path / "root"
    units(root, "networking.service")
    first = enable([Unit("networking.service")], TargetRoot(str(root)))
    for path, task in first.items():
        link(root, path, task.symlink)
    again = enable([Unit("networking.service")], TargetRoot(str(root)), ours=set(first))
    assert again == first
    assert enable([Unit("networking.service")], TargetRoot(str(root))) == {}


def test_template_units_are_not_enabled(tmp_path):
    root = tmp_path / "root"
    put(root, "lib/systemd/system/x@.service", "[Install]\nWantedBy=multi-user.target\n")
    assert enable([Unit("x@.service")], TargetRoot(str(root))) == {}


def test_no_systemd_no_links(tmp_path):
    root = tmp_path / "root"
    put(root, "sbin/ifup")
    assert not [a for a in actions(plan(root, "alpine 3.19")).values() if a == SYMLINK]


def test_a_unit_the_distribution_enables_itself_is_left_as_it_is(tmp_path):
    """Flatcar ships systemd-networkd enabled through its own unit directory."""
    root = tmp_path / "root"
    units(root, *NETWORKD, directory="usr/lib/systemd/system")
    for name, target in (("systemd-networkd.service", "multi-user.target"),
                         ("systemd-networkd.socket", "sockets.target")):
        link(root, f"usr/lib/systemd/system/{target}.wants/{name}", f"../{name}")
    planned = symlinks_planned(plan(root, "flatcar 4081.2.0"))
    assert planned == {f"{SYSTEM}/network-online.target.wants/"
                       "systemd-networkd-wait-online.service":
                       "/usr/lib/systemd/system/systemd-networkd-wait-online.service"}
