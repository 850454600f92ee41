"""Hostile target roots: symlinks out of the root, loops, dangling links, files where
directories are expected, special files, immutable files, read-only and full filesystems,
a root that does not exist.

Absolute symlinks are re-rooted at the target (the target OS would see them that way) and
``..`` is followed inside it; a path that would leave the root is refused (exit 60). A
refused or failed run leaves the root byte for byte as it was (content, modes, owners,
link targets), and nothing outside the root ever changes.
"""
import os
import shutil
import socket
import stat

import pytest

from .harness import NIC_NAMES, snapshot, written_files

SCRIPTS = "etc/sysconfig/network-scripts"
NM_WANTS = "etc/systemd/system/multi-user.target.wants/NetworkManager.service"


def install_previous(ws):
    """What an image already holds: files to be replaced, one to be deleted, one unrelated."""
    files = {
        "etc/hostname": (b"old-host\n", 0o644),
        "etc/hosts": (b"127.0.0.1 localhost\n", 0o644),
        f"{SCRIPTS}/ifcfg-eth0": (b"DEVICE=eth0\nBOOTPROTO=dhcp\n", 0o644),
        f"{SCRIPTS}/ifcfg-bond0": (b"DEVICE=bond0\nOLD=yes\n", 0o600),
        "usr/lib/systemd/system/NetworkManager.service": (b"[Unit]\n", 0o644),
    }
    for rel, (data, mode) in files.items():
        path = ws.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)
    os.chown(ws.root / f"{SCRIPTS}/ifcfg-bond0", 1234, 5678)
    link = ws.root / NM_WANTS
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to("/usr/lib/systemd/system/NetworkManager.service")


def clear(ws, rel):
    """Make room for a hostile ``rel`` (whatever install_previous put there goes)."""
    path = ws.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return path


def mkdir(ws, rel):
    (ws.root / rel).mkdir(parents=True, exist_ok=True)


def link(ws, rel, target):
    os.symlink(str(target), clear(ws, rel))


def outside(ws, rel=""):
    return ws.outside / rel if rel else ws.outside


# --- refused: exit 60, nothing changes ------------------------------------------------

def etc_relative_outside(ws):
    link(ws, "etc", "../outside/etc")


def etc_relative_far_outside(ws):
    link(ws, "etc", "../../../../../../../../../../..")


def etc_relative_back_in(ws):
    # leaves the root before coming back: refused, the root has no parent to go through
    link(ws, "etc", f"../{ws.root.name}/realetc")


def sysconfig_relative_outside(ws):
    link(ws, "etc/sysconfig", "../../outside/etc/sysconfig")


def scripts_relative_outside(ws):
    link(ws, SCRIPTS, "../../../outside/etc/sysconfig/network-scripts")


def hostname_relative_outside(ws):
    link(ws, "etc/hostname", "../../outside/etc/hostname")


def dangling_relative_outside(ws):
    link(ws, "etc/resolv.conf", "../../outside/run/resolv.conf")


def absolute_dotdot_above_root(ws):
    link(ws, "etc", "/../outside/etc")


def nested_relative_outside(ws):
    (ws.root / "a/b").mkdir(parents=True)
    link(ws, "a/b/c", "../../..")
    link(ws, "etc", "a/b/c/outside/etc")


def loop_self(ws):
    link(ws, "etc", "etc")


def loop_pair(ws):
    link(ws, "etc", "var")
    link(ws, "var", "etc")


def loop_absolute(ws):
    link(ws, "etc/sysconfig", "/etc/sysconfig")


def loop_on_file(ws):
    link(ws, "etc/hostname", "hostname")


def chain_too_long(ws):
    for i in range(60):
        link(ws, f"l{i}", f"l{i + 1}")
    link(ws, "l60", "real")
    link(ws, "etc", "l0")


def etc_is_a_file(ws):
    clear(ws, "etc").write_text("not a directory\n")


def sysconfig_is_a_file(ws):
    clear(ws, "etc/sysconfig").write_text("not a directory\n")


def sbin_is_a_file(ws):
    """The last path written: planning refuses before anything is written."""
    clear(ws, "sbin").write_text("busybox\n")


def scripts_dir_is_a_link_to_a_file(ws):
    clear(ws, "etc/sysconfig/scripts-file").write_text("x\n")
    link(ws, SCRIPTS, "scripts-file")


def hostname_is_a_directory(ws):
    clear(ws, "etc/hostname").mkdir()


def hostname_is_a_fifo(ws):
    os.mkfifo(clear(ws, "etc/hostname"))


def etc_is_a_fifo(ws):
    os.mkfifo(clear(ws, "etc"))


def hosts_is_a_socket(ws):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(clear(ws, "etc/hosts")))
    sock.close()


def hosts_is_a_device(ws):
    try:
        os.mknod(clear(ws, "etc/hosts"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod is not allowed here")


def hosts_link_to_hostname(ws):
    """Two files that are one in the target: refused rather than one silently lost."""
    link(ws, "etc/hosts", "hostname")


def hosts_too_big(ws):
    with open(clear(ws, "etc/hosts"), "wb") as f:
        f.truncate(17 << 20)


REFUSED = [etc_relative_outside, etc_relative_far_outside, etc_relative_back_in,
           sysconfig_relative_outside, scripts_relative_outside, hostname_relative_outside,
           dangling_relative_outside, absolute_dotdot_above_root, nested_relative_outside,
           loop_self, loop_pair, loop_absolute, loop_on_file, chain_too_long, etc_is_a_file,
           sysconfig_is_a_file, sbin_is_a_file, scripts_dir_is_a_link_to_a_file,
           hostname_is_a_directory, hostname_is_a_fifo, etc_is_a_fifo, hosts_is_a_socket,
           hosts_is_a_device, hosts_link_to_hostname, hosts_too_big]


@pytest.mark.parametrize("previous", [False, True], ids=["empty", "installed"])
@pytest.mark.parametrize("setup", REFUSED, ids=[f.__name__ for f in REFUSED])
def test_refused(ws, setup, previous):
    if previous and setup.__name__ not in ("etc_is_a_file", "etc_is_a_fifo", "loop_self",
                                           "loop_pair", "etc_relative_outside"):
        install_previous(ws)
    setup(ws)
    result = ws.run(ws.args())
    ws.assert_failed(result, 60)


SUBPROCESS_REFUSED = [etc_relative_outside, loop_pair, hostname_is_a_fifo, sbin_is_a_file]


@pytest.mark.parametrize("setup", SUBPROCESS_REFUSED, ids=[f.__name__ for f in SUBPROCESS_REFUSED])
def test_refused_subprocess(ws, setup):
    install_previous(ws)
    setup(ws)
    result = ws.run(ws.args(), subprocess=True, timeout=60)
    ws.assert_failed(result, 60)


# --- followed inside the root: success, nothing outside changes ---------------------

def etc_absolute_outside(ws):
    link(ws, "etc", outside(ws, "etc"))
    return outside(ws, "etc").relative_to("/")


def sysconfig_absolute_outside(ws):
    (ws.root / "etc").mkdir()
    link(ws, "etc/sysconfig", outside(ws, "etc/sysconfig"))
    return ws.root.joinpath("etc").relative_to(ws.root)


def etc_absolute_slash(ws):
    link(ws, "etc", "/")
    return None


def hostname_absolute_host_file(ws):
    (ws.root / "etc").mkdir()
    link(ws, "etc/hostname", outside(ws, "etc/hostname"))
    return None


def resolv_conf_dangling_absolute(ws):
    (ws.root / "etc").mkdir()
    link(ws, "etc/resolv.conf", "/var/lib/resolv/resolv.conf")
    return None


def resolv_conf_dangling_relative(ws):
    (ws.root / "etc").mkdir()
    link(ws, "etc/resolv.conf", "../var/lib/resolv/resolv.conf")
    return None


def etc_relative_inside(ws):
    (ws.root / "usr/etc").mkdir(parents=True)
    link(ws, "etc", "usr/./etc/../etc")
    return None


def chain_absolute(ws):
    link(ws, "etc", "a")
    link(ws, "a", "/b")
    link(ws, "b", "c/../d")
    (ws.root / "d").mkdir()
    return None


def hosts_hard_link_to_outside(ws):
    (ws.root / "etc").mkdir()
    os.link(outside(ws, "etc/hosts"), ws.root / "etc/hosts")
    return None


FOLLOWED = [etc_absolute_outside, sysconfig_absolute_outside, etc_absolute_slash,
            hostname_absolute_host_file, resolv_conf_dangling_absolute,
            resolv_conf_dangling_relative, etc_relative_inside, chain_absolute,
            hosts_hard_link_to_outside]


@pytest.mark.parametrize("setup", FOLLOWED, ids=[f.__name__ for f in FOLLOWED])
def test_followed_inside_the_root(ws, setup):
    setup(ws)
    result = ws.run(ws.args())
    ws.assert_succeeded(result)
    # what the target OS reads through its own links is the new configuration
    hostname = _read_in_target(ws.root, "etc/hostname")
    assert hostname.decode().strip().endswith("web-01.example.net")
    assert b"IPADDR=198.51.100.11" in _read_in_target(ws.root, f"{SCRIPTS}/ifcfg-bond0")
    # and a second run changes nothing
    before = snapshot(ws.root)
    ws.assert_succeeded(ws.run(ws.args()))
    assert snapshot(ws.root) == before


def _read_in_target(root, rel):
    """Read ``rel`` as the target OS would (chroot semantics), without leaving ``root``."""
    from packetnetworking.target import TargetRoot
    text = TargetRoot(str(root)).read(rel)
    assert text is not None, rel
    return text.encode()


@pytest.mark.parametrize("os_option, link", [
    ("rocky 9", "/run/NetworkManager/resolv.conf"),
    ("centos 8", "../run/NetworkManager/resolv.conf"),
    ("centos 7", "/var/run/resolvconf/resolv.conf"),   # var/run -> ../run in the image
    ("debian 12", "../run/resolvconf/resolv.conf"),
])
def test_resolv_conf_linking_into_run_is_left_alone(ws, os_option, link):
    """The host's /run is bind-mounted there to chroot, and it is a tmpfs at boot: the
    link is left alone with a WARNING, the nameservers are in the stack's own files."""
    mkdir(ws, "var")
    os.symlink("../run", ws.root / "var/run")
    mkdir(ws, "etc")
    (ws.root / "etc/os-release").write_text("ID=test\n")
    os.symlink(link, ws.root / "etc/resolv.conf")
    ws.mark()
    for _ in range(2):  # and a rerun says the same
        result = ws.run(ws.args(os_option=os_option))
        ws.assert_succeeded(result)
        assert result.stderr == (f"WARNING: etc/resolv.conf -> {link} left alone: run/ holds "
                                 "the running system's state, not the image's\n")
    assert os.readlink(ws.root / "etc/resolv.conf") == link
    assert not (ws.root / "run").exists()
    dns = [p for p, data in written_files(ws.root).items() if b"147.75.207.207" in data]
    assert dns, "the nameservers are nowhere"


def test_a_delete_through_a_link_to_a_file_this_run_writes_agrees_on_a_rerun(ws):
    """Issue 16's rerun: with ``etc/systemd -> /etc/sysconfig/network`` (dangling) a
    centos 7 run deletes etc/systemd/system/...NetworkManager.service (not there) and
    writes etc/sysconfig/network as a file; the second run finds a file on the way of the
    path to delete: still nothing to delete, the same success."""
    install_previous(ws)
    shutil.rmtree(ws.root / "etc/systemd")
    os.symlink("/etc/sysconfig/network", ws.root / "etc/systemd")
    ws.mark()
    ws.assert_succeeded(ws.run(ws.args()))
    first = snapshot(ws.root)
    assert first["etc/sysconfig/network"][0].startswith("-")
    ws.assert_succeeded(ws.run(ws.args()))
    assert snapshot(ws.root) == first


def test_a_link_needing_a_written_file_as_a_directory_is_refused_the_same_way_twice(ws):
    mkdir(ws, "etc")
    os.symlink("/etc/hostname", ws.root / "etc/sysconfig")  # the run writes etc/hostname
    ws.mark()
    first = ws.run(ws.args())
    ws.assert_failed(first, 60)
    assert "needs etc/hostname as a directory" in first.stderr
    second = ws.run(ws.args())
    assert (second.code, second.stderr) == (first.code, first.stderr)
    ws.assert_root_unchanged()


def test_a_dangling_directory_link_gets_its_directory_inside_and_reruns_agree(ws):
    mkdir(ws, "etc")
    os.symlink(str(ws.outside / "etc/sysconfig"), ws.root / "etc/sysconfig")  # absolute
    ws.mark()
    ws.assert_succeeded(ws.run(ws.args()))
    first = snapshot(ws.root)
    assert str(ws.outside).lstrip("/") + "/etc/sysconfig/network-scripts/ifcfg-bond0" in first
    ws.assert_succeeded(ws.run(ws.args()))
    assert snapshot(ws.root) == first


def test_a_fifo_where_detection_reads_never_hangs_the_run(ws):
    """RedHat detection reads usr/sbin/ifup beside etc/sysconfig/network-scripts/: a FIFO
    there (nobody writing) is not a file and is not opened blocking."""
    mkdir(ws, "etc/sysconfig/network-scripts")
    mkdir(ws, "usr/sbin")
    os.mkfifo(ws.root / "usr/sbin/ifup")
    os.symlink("/usr/sbin/ifup", ws.root / "usr/sbin/ifup-link")
    result = ws.run(ws.args(os_option="rocky 9"), subprocess=True, timeout=60)
    ws.assert_succeeded(result)


def test_absolute_link_outside_is_rerooted_not_followed(ws):
    etc_absolute_outside(ws)
    ws.assert_succeeded(ws.run(ws.args()))
    rerooted = ws.root / str(outside(ws, "etc")).lstrip("/")
    assert (rerooted / "hostname").is_file()


# --- the root itself ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["missing", "dangling-link", "link-loop", "fifo",
                                  "inside-a-file"])
def test_bad_rootfs(ws, kind):
    target = ws.base / "target"
    if kind == "dangling-link":
        target.symlink_to(ws.base / "nowhere")
    elif kind == "link-loop":
        target.symlink_to(target)
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "inside-a-file":
        (ws.base / "file").write_text("x")
        target = ws.base / "file" / "root"
    ws.mark()
    result = ws.run(ws.args(root=target))
    ws.assert_failed(result, 60)
    assert not (ws.base / "nowhere").exists()


@pytest.mark.parametrize("spelling", ["/", "//", "/.", "/etc/..", "link-to-slash"])
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_the_running_systems_own_root_is_a_usage_error(ws, spelling, dry_run):
    """Issue 12: -t / would rewrite the provisioning host's network. The real variant
    asks for an OS no builder serves: were the check ever missing, the run would stop
    with exit 20 before writing anything, not touch this machine."""
    if spelling == "link-to-slash":
        spelling = ws.base / "slash"
        spelling.symlink_to("/")
    extra = ["--dry-run"] if dry_run else []
    ws.mark()
    result = ws.run(ws.args(root=spelling, os_option="centos 7" if dry_run else "plan9 1",
                            extra=extra))
    ws.assert_failed(result, 2)
    assert f"-t {spelling} is the root filesystem of the system this runs on" in result.stderr


@pytest.mark.parametrize("marker", [None, "etc/os-release", "usr/lib/os-release"])
def test_a_target_without_an_os_is_written_with_a_warning(ws, marker):
    """An image that was not mounted: the empty mount point is written, and said."""
    if marker:
        mkdir(ws, os.path.dirname(marker))
        (ws.root / marker).write_text("ID=test\n")
    result = ws.run(ws.args())
    ws.assert_succeeded(result)
    warning = (f"WARNING: no etc/os-release nor usr/lib/os-release in {ws.root}: is the target "
               "image mounted there? Writing anyway\n")
    assert result.stderr == ("" if marker else warning)
    assert ws.run(ws.args(extra=["-q"])).stderr == ""


def test_rootfs_that_is_a_file_is_a_usage_error(ws):
    target = ws.base / "target"
    target.write_text("x")
    ws.mark()
    result = ws.run(ws.args(root=target))
    ws.assert_failed(result, 2)


# --- write failures mid-way: immutable files, read-only and full filesystems ---------

def expected_output(ws_factory):
    """The complete output for the default input, from a clean run elsewhere."""
    other = ws_factory()
    install_previous(other)
    result = other.run(other.args())
    assert result.code == 0, str(result)
    return snapshot(other.root)


@pytest.mark.parametrize("flag", ["i", "a"], ids=["immutable", "append-only"])
@pytest.mark.parametrize("what", ["sbin-dir", "hosts-file", "nm-wants-dir", "scripts-dir",
                                  "root-dir"])
def test_immutable_or_append_only(ws, immutable, what, flag):
    """chattr +i or +a on a directory or a file the run changes: refused before the first
    change (an append-only directory would take the temporary files and never let them
    go), exit 60, nothing left behind."""
    install_previous(ws)
    if what != "root-dir":  # with the root immutable, creating sbin/ is what fails
        (ws.root / "sbin").mkdir()
    target = {"sbin-dir": "sbin", "hosts-file": "etc/hosts",
              "nm-wants-dir": os.path.dirname(NM_WANTS), "scripts-dir": SCRIPTS,
              "root-dir": "."}[what]
    immutable(ws.root / target, flag)
    ws.mark()
    result = ws.run(ws.args())
    ws.assert_failed(result, 60)
    assert f"(chattr +{flag})" in result.stderr


def test_read_only_rootfs(ws, mounts):
    mounts(ws.root, "size=1m,mode=0755")
    install_previous(ws)
    mounts.remount(ws.root, "ro")
    ws.mark()
    result = ws.run(ws.args(), subprocess=True)
    ws.assert_failed(result, 60)
    assert "Read-only file system" in result.stderr or "read-only" in result.stderr.lower()


def test_read_only_part_rolls_back_the_rest(ws, mounts):
    """sbin/ is read-only and written last: every earlier change is undone, the
    directories created for them removed."""
    install_previous(ws)
    mounts(ws.root / "sbin", "size=64k")
    mounts.remount(ws.root / "sbin", "ro")
    ws.mark()
    result = ws.run(ws.args())
    ws.assert_failed(result, 60)


@pytest.mark.parametrize("free_pages", [0, 1, 3, 6, 9, 40])
def test_full_disk(ws, mounts, free_pages):
    mounts(ws.root, "size=256k,mode=0755")
    install_previous(ws)
    _fill(ws.root, free_pages)
    ws.mark()
    result = ws.run(ws.args())
    assert result.code == (60 if free_pages == 0 else 0 if free_pages == 40 else result.code)
    if result.code == 0:  # enough room after all
        ws.assert_succeeded(result)
        assert "etc/hostname" in written_files(ws.root)
    else:
        ws.assert_failed(result, 60)
        assert "No space left" in result.stderr


@pytest.mark.parametrize("spare_inodes", [0, 2, 5, 9, 30])
def test_out_of_inodes(ws, mounts, spare_inodes):
    mounts(ws.root, "size=1m,nr_inodes=40,mode=0755")
    install_previous(ws)
    _fill_inodes(ws.root, spare_inodes)
    ws.mark()
    result = ws.run(ws.args())
    assert result.code == (60 if spare_inodes == 0 else 0 if spare_inodes == 30 else result.code)
    if result.code == 0:
        ws.assert_succeeded(result)
    else:
        ws.assert_failed(result, 60)


def _fill(root, free_pages):
    """Leave about ``free_pages`` pages free on the filesystem holding ``root``."""
    page = os.statvfs(root).f_frsize
    filler = os.path.join(root, ".filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * page)
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, os.path.getsize(filler) - free_pages * page))


def _fill_inodes(root, spare):
    n = 0
    try:
        while True:
            open(os.path.join(root, f".inode-{n}"), "w").close()
            n += 1
    except OSError:
        pass
    for i in range(spare):
        if n - 1 - i >= 0:
            os.unlink(os.path.join(root, f".inode-{n - 1 - i}"))
