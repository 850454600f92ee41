"""Mounts inside the target, made by the tests themselves (root; skipped otherwise).

Installers bind-mount the host's /run, /dev, /proc and /sys into the target to chroot
into it, and an image may have its own /boot or /var filesystem. Here the "host" is a
tmpfs or a directory outside the target (``outside/``): whatever is bind-mounted from
there must never change, and the image's own filesystems are written as usual.
"""
import json
import os
import subprocess
import sys

from .harness import written_files
from .test_hostile_target import SCRIPTS, install_previous

RESOLVER = b"147.75.207.207"


def host_run(ws, mounts):
    """A tmpfs standing for the host's /run, with NetworkManager's resolv.conf in it,
    bind-mounted at the target's run/ as an installer does before chroot."""
    host = ws.outside / "run"
    mounts(host, "size=64k,mode=0755")
    (host / "NetworkManager").mkdir()
    (host / "NetworkManager/resolv.conf").write_text("nameserver 192.0.2.1\n")
    (ws.root / "run").mkdir()
    mounts.bind(host, ws.root / "run")
    return host


def test_resolv_conf_into_the_hosts_run_is_left_alone(ws, mounts):
    """Issue 16: a RHEL-family target whose etc/resolv.conf links to
    /run/NetworkManager/resolv.conf had the host's file overwritten through the bind
    mount. It is left alone with a WARNING; the nameservers go to ifcfg-bond0."""
    install_previous(ws)
    host = host_run(ws, mounts)
    os.symlink("/run/NetworkManager/resolv.conf", ws.root / "etc/resolv.conf")
    ws.mark()  # the mark covers outside/, the host's run included
    result = ws.run(ws.args(os_option="rocky 9"), subprocess=True)
    ws.assert_succeeded(result)
    assert "etc/resolv.conf -> /run/NetworkManager/resolv.conf left alone" in result.stderr
    assert (host / "NetworkManager/resolv.conf").read_text() == "nameserver 192.0.2.1\n"
    assert RESOLVER in written_files(ws.root)[f"{SCRIPTS}/ifcfg-bond0"]


def test_a_bind_mount_of_a_host_directory_is_never_written_through(ws, mounts):
    """A host directory mounted where the run writes (not one of run/ proc/ sys/ dev/):
    refused, exit 60, the host's directory and the target as they were."""
    install_previous(ws)
    host = ws.outside / "etc/sysconfig"
    mounts.bind(host, ws.root / "etc/sysconfig")
    ws.mark()
    result = ws.run(ws.args(), subprocess=True)
    ws.assert_failed(result, 60)
    if in_chroot():  # the chroot's own filesystem is not in its mount table: no path to name
        assert "a mount of the filesystem this chroot lives on" in result.stderr
    else:
        assert f"etc/sysconfig/network: it is a mount of the host's {host}" in result.stderr
    assert "unmount it from the target" in result.stderr


def in_chroot():
    """A chroot: the mount table does not list the mount the root directory is on."""
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            mnt_id = next(line.split()[1] for line in f if line.startswith("mnt_id:"))
    finally:
        os.close(fd)
    with open("/proc/self/mountinfo") as f:
        return mnt_id not in {line.split()[0] for line in f}


def test_the_images_own_filesystems_are_written(ws, mounts):
    """A separate filesystem mounted only inside the target (the image's /boot or /var;
    here its etc/sysconfig and sbin) is the image's: written as usual."""
    install_previous(ws)
    saved = {p.name: p.read_bytes() for p in (ws.root / SCRIPTS).iterdir()}
    mounts(ws.root / "etc/sysconfig", "size=256k,mode=0755")
    (ws.root / SCRIPTS).mkdir()
    for name, data in saved.items():
        (ws.root / SCRIPTS / name).write_bytes(data)
    mounts(ws.root / "sbin", "size=64k,mode=0755")
    ws.mark()
    ws.assert_succeeded(ws.run(ws.args()))
    files = written_files(ws.root)
    assert b"IPADDR=198.51.100.11" in files[f"{SCRIPTS}/ifcfg-bond0"]
    assert "sbin/ifup-pre-local" in files


def test_a_read_only_bind_mount_is_refused_before_any_change(ws, mounts):
    install_previous(ws)
    mounts.bind(ws.root / SCRIPTS, ws.root / SCRIPTS, read_only=True)
    ws.mark()
    result = ws.run(ws.args())
    ws.assert_failed(result, 60)
    assert f"{SCRIPTS} is on a read-only filesystem" in result.stderr


def test_a_host_file_mounted_over_resolv_conf_is_left_alone(ws, mounts):
    """As containers do: the host's resolv.conf bind-mounted over the target's."""
    install_previous(ws)
    (ws.root / "etc/resolv.conf").write_text("nameserver 10.0.0.1\n")
    mounts.bind(ws.outside / "etc/resolv.conf", ws.root / "etc/resolv.conf")
    ws.mark()
    result = ws.run(ws.args())
    ws.assert_succeeded(result)
    assert "etc/resolv.conf left alone: a file is mounted over it" in result.stderr
    assert b"web-01" in written_files(ws.root)["etc/hostname"]


#: Run by a fresh interpreter (forking pytest, which has threads, could deadlock): one
#: write outside the jail first, so that whatever the writer imports lazily is loaded
#: before the chroot hides the interpreter's files.
IN_CHROOT = """
import json, os, sys
from packetnetworking import writer
from packetnetworking.errors import TargetError
from packetnetworking.tasks import WRITE, FileOp
os.makedirs(sys.argv[2])
writer.apply(sys.argv[2], {"file": FileOp(WRITE, "x\\n")})
os.chroot(sys.argv[1])
os.chdir("/")
fd = os.open("/", os.O_RDONLY)
mnt_id = [line.split()[1] for line in open(f"/proc/self/fdinfo/{fd}") if line.startswith("mnt_id:")]
outcome = {"root_listed": any(line.split()[0] in mnt_id for line in open("/proc/self/mountinfo"))}
writer.apply("/target", {"etc/own/file": FileOp(WRITE, "x\\n")})
try:
    writer.apply("/target", {"etc/sysconfig/network": FileOp(WRITE, "x\\n")})
except TargetError as err:
    outcome["refused"] = str(err)
print(json.dumps(outcome))
"""


def test_in_a_chroot_a_directory_bound_from_its_own_filesystem_is_the_hosts(tmp_path, mounts):
    """Run from a chroot (its own filesystem is missing from its mount table), the writer
    still refuses a directory bind-mounted into the target from outside it, and still
    writes the target's own directory bound elsewhere in the target."""
    jail = tmp_path / "jail"
    host_dir, target = jail / "srv/host-etc", jail / "target"
    for directory in (jail / "proc", host_dir, target / "etc/sysconfig", target / "srv/own",
                      target / "etc/own"):
        directory.mkdir(parents=True)
    (host_dir / "keep").write_text("the host's\n")
    mounts.bind("/proc", jail / "proc")
    mounts.bind(host_dir, target / "etc/sysconfig")
    mounts.bind(target / "srv/own", target / "etc/own")
    proc = subprocess.run([sys.executable, "-c", IN_CHROOT, str(jail), str(tmp_path / "warm")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)
    assert not outcome["root_listed"]  # what makes a chroot blind
    assert "a mount of the filesystem this chroot lives on" in outcome["refused"]
    assert sorted(os.listdir(host_dir)) == ["keep"]
    assert (target / "srv/own/file").read_text() == "x\n"
