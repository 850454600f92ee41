"""Mounts inside the target, made by the tests themselves (root; skipped otherwise).

Installers bind-mount the host's /run, /dev, /proc and /sys into the target to chroot
into it, and an image may have its own /boot or /var filesystem. Here the "host" is a
tmpfs or a directory outside the target (``outside/``): whatever is bind-mounted from
there must never change, and the image's own filesystems are written as usual.
"""
import os

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
    assert f"mount of the host's {host}" in result.stderr


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
