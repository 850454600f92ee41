"""The tool cleans up after itself, and only after itself (issue 12, point 3).

Every run records what it wrote in ``var/lib/packet-networking/manifest.json``; a later
run removes the files (and links) of that list it no longer writes, if nobody changed
them since. Runs go through the CLI and the real writer.
"""
import hashlib
import json
import logging

import pytest

from support.helpers import snapshot
from support.ownership_roots import cli, debian_with_interfaces, put
from packetnetworking import metadata as md
from packetnetworking import writer
from packetnetworking.run import Builder
from packetnetworking.errors import TargetError
from packetnetworking.manifest import PATH, Manifest
from packetnetworking.nics import NIC
from packetnetworking.target import TargetRoot
from support.stack_cases import MACS, NAMES, RESOLVERS, document

NETWORKD = "etc/systemd/network"
SCRIPTS = "etc/sysconfig/network-scripts"
RENAMED = ["eno1", "eno2"]


def manifest(root):
    return json.loads((root / PATH).read_text())


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_manifest_lists_each_file_written_whole_with_its_hash(tmp_path):
    root = tmp_path / "root"
    put(root, "sbin/ifup")
    put(root, "etc/modules", "loop\n")
    code, err = cli(tmp_path, root, "debian 12")
    assert code == 0, err
    doc = manifest(root)
    assert doc["version"] == 1 and doc["links"] == {}
    written = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                     if p.is_file() and str(p.relative_to(root)) not in (PATH, "sbin/ifup"))
    # etc/modules is the image's (the tool appends a line): not listed
    assert sorted(doc["files"]) == [p for p in written if p != "etc/modules"]
    for rel, digest in doc["files"].items():
        assert digest == sha256(root / rel), rel


def test_a_second_run_changes_nothing_manifest_included(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    assert cli(tmp_path, root, "rocky 9")[0] == 0
    before = snapshot(root)
    assert cli(tmp_path, root, "rocky 9")[0] == 0
    assert snapshot(root) == before


@pytest.mark.parametrize("os_option,renderer,old", [
    ("debian 12", "networkd", [f"{NETWORKD}/05-packet-{n}.{k}" for n in NAMES[:2]
                               for k in ("link", "network")]),
    ("rocky 9", "ifcfg-rh", [f"{SCRIPTS}/ifcfg-{n}" for n in NAMES[:2]]
     + [f"etc/systemd/network/70-{n}.link" for n in NAMES[:2]]),
    ("ubuntu 24.04", "networkmanager",
     [f"etc/NetworkManager/system-connections/{n}.nmconnection" for n in NAMES[:2]]),
])
def test_a_rerun_after_nic_renames_removes_the_old_names_files(tmp_path, os_option, renderer,
                                                                 old):
    root = tmp_path / "root"
    root.mkdir()
    assert cli(tmp_path, root, os_option, "--renderer", renderer)[0] == 0
    assert all((root / rel).is_file() for rel in old)
    code, err = cli(tmp_path, root, os_option, "--renderer", renderer, names=RENAMED)
    assert code == 0, err
    for rel in old:
        assert not (root / rel).exists(), f"{rel} left behind"
    new = [rel.replace(NAMES[0], RENAMED[0]).replace(NAMES[1], RENAMED[1]) for rel in old]
    assert all((root / rel).is_file() for rel in new)
    assert sorted(manifest(root)["files"]) == sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
        and str(p.relative_to(root)) != PATH and p.name != "modules")


def test_a_file_changed_since_is_left_with_a_warning(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    assert cli(tmp_path, root, "debian 12", "--renderer", "networkd")[0] == 0
    edited = root / NETWORKD / f"05-packet-{NAMES[0]}.network"
    edited.write_text(edited.read_text() + "# kept by the operator\n")
    code, err = cli(tmp_path, root, "debian 12", "--renderer", "networkd", names=RENAMED)
    assert code == 0, err
    assert edited.is_file()
    assert not (root / NETWORKD / f"05-packet-{NAMES[0]}.link").exists()
    assert f"WARNING: {edited.relative_to(root)} was written by an earlier run and changed " \
           "since" in err
    assert str(edited.relative_to(root)) not in manifest(root)["files"]  # warned once


def test_a_file_the_tool_did_not_write_is_never_removed(tmp_path):
    root = tmp_path / "root"
    foreign = put(root, f"{NETWORKD}/05-packet-extra.network", "[Match]\nName=wg0\n")
    assert cli(tmp_path, root, "debian 12", "--renderer", "networkd")[0] == 0
    assert cli(tmp_path, root, "debian 12", "--renderer", "networkd", names=RENAMED)[0] == 0
    assert foreign.read_text() == "[Match]\nName=wg0\n"


def test_a_stack_switch_removes_the_old_stacks_files(tmp_path):
    root = debian_with_interfaces(tmp_path / "root")
    put(root, "usr/sbin/NetworkManager")
    assert cli(tmp_path, root, "debian 12", "--renderer", "networkd")[0] == 0
    ours = set(manifest(root)["files"]) | set(manifest(root)["links"])
    assert "etc/NetworkManager/conf.d/90-packet-networking.conf" in ours
    code, err = cli(tmp_path, root, "debian 12", "--renderer", "netplan")
    assert code == 0, err
    assert not list((root / NETWORKD).glob("05-packet-*"))
    assert not (root / "etc/NetworkManager/conf.d/90-packet-networking.conf").exists()
    assert (root / "etc/netplan/50-packet.yaml").is_file()
    # the links that enabled networkd are gone again: netplan enables it itself at boot
    assert not (root / "etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
                ).is_symlink()
    # the image's networking.service link was never the tool's
    assert (root / "etc/systemd/system/multi-user.target.wants/networking.service").is_symlink()


def test_dry_run_lists_the_removals(tmp_path):
    from support.helpers import run_cli as run_full
    root = tmp_path / "root"
    root.mkdir()
    assert cli(tmp_path, root, "debian 12", "--renderer", "networkd")[0] == 0
    before = snapshot(root)
    meta = tmp_path / "metadata.json"
    nics = tmp_path / "renamed.json"
    nics.write_text(json.dumps([{"name": n, "mac": m} for n, m in zip(RENAMED, MACS)]))
    code, out, err = run_full(["-M", meta, "--nics-file", nics, "-o", "debian 12", "-t", root,
                               "--resolvers", RESOLVERS[0], "--renderer", "networkd",
                               "--dry-run"])
    assert code == 0, err
    assert f"delete    {NETWORKD}/05-packet-{NAMES[0]}.link" in out
    assert snapshot(root) == before


def _plan(root, resolvers):
    nics = [NIC(name=n, mac=m) for n, m in zip(NAMES, MACS[:2])]
    builder = Builder(md.parse(document()), nics, "debian 12", resolvers).initialize()
    return builder


def test_a_file_left_alone_is_not_removed(tmp_path, caplog):
    """Without nameservers resolv.conf is left as it is, also when an earlier run wrote it."""
    root = tmp_path / "root"
    put(root, "sbin/ifup")
    _plan(root, RESOLVERS).run(str(root))
    written = (root / "etc/resolv.conf").read_text()
    _plan(root, []).run(str(root))
    assert (root / "etc/resolv.conf").read_text() == written
    assert "etc/resolv.conf" in manifest(root)["files"]


def test_an_unreadable_manifest_is_ignored_with_a_warning(tmp_path, caplog):
    root = tmp_path / "root"
    put(root, PATH, "{not json")
    caplog.set_level(logging.WARNING)
    assert Manifest.load(TargetRoot(str(root))).entries == {}
    assert "cannot be read" in caplog.text


def test_the_manifest_goes_through_the_writer_with_the_rest(tmp_path):
    """One transaction: a run that fails writes neither its files nor its manifest."""
    root = tmp_path / "root"
    put(root, "sbin/ifup")
    put(root, "etc/hosts", "127.0.0.1 localhost\n")
    (root / "etc/udev").mkdir(parents=True)
    (root / "etc/udev/rules.d").write_text("a file where a directory is needed")
    before = snapshot(root)
    with pytest.raises(TargetError, match="rules.d"):
        _plan(root, RESOLVERS).run(str(root), writer=writer)
    assert snapshot(root) == before
    assert not (root / PATH).exists()


SLOW = """
import sys, time
from packetnetworking import transaction
swap = transaction._swap
def slow_swap(*args):
    time.sleep(float(sys.argv[1]))
    return swap(*args)
transaction._swap = slow_swap
from packetnetworking.entry import main
main(sys.argv[2:])
"""


def _args(tmp_path, root, names, tag):
    meta = tmp_path / f"metadata-{tag}.json"
    meta.write_text(json.dumps(document()))
    nics = tmp_path / f"nics-{tag}.json"
    nics.write_text(json.dumps([{"name": n, "mac": m} for n, m in zip(names, MACS)]))
    return ["-M", str(meta), "--nics-file", str(nics), "-o", "debian 12", "-t", str(root),
            "--resolvers", ",".join(RESOLVERS), "--renderer", "networkd", "-q"]


def test_a_run_started_during_another_plans_after_it(tmp_path):
    """The second run reads the manifest only once the first has written it: it removes
    the first run's files for the old names, so the target is its own whole output."""
    import os
    import subprocess
    import sys
    import time
    from support.helpers import REPO

    alone = tmp_path / "alone"
    alone.mkdir()
    assert cli(tmp_path, alone, "debian 12", "--renderer", "networkd", names=RENAMED)[0] == 0
    root = tmp_path / "root"
    root.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    first = subprocess.Popen([sys.executable, "-c", SLOW, "0.1",
                              *_args(tmp_path, root, NAMES, "a")], env=env,
                             stderr=subprocess.PIPE)
    marker = root / NETWORKD / f"05-packet-{NAMES[0]}.link"
    deadline = time.monotonic() + 60
    while not marker.exists():  # the first run is half-way through its commit
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    second = subprocess.run([sys.executable, "-m", "packetnetworking",
                             *_args(tmp_path, root, RENAMED, "b")], env=env,
                            capture_output=True, timeout=120)
    assert first.wait(timeout=120) == 0
    assert second.returncode == 0, second.stderr
    assert snapshot(root) == snapshot(alone)
