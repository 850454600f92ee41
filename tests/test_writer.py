"""The writer: confined to the rootfs, atomic per file, all or nothing, idempotent.

Every failure case asserts the whole target tree (contents, modes, links, directories)
is exactly as before. Tests run as root, where permissions do not stop writes, so
failures midway are forced by making one ``os.rename`` / ``os.write`` call fail.
"""
import errno
import os
import stat

import pytest

from support.helpers import make_metadata, nics_from_metadata, run_cli, snapshot, with_os, \
    write_metadata, write_nics
from packetnetworking import writer
from packetnetworking.tasks import APPEND, DELETE, WRITE, FileOp
from packetnetworking.errors import EXIT_WRITE, TargetError
from packetnetworking.tasks import ASIDE_SUFFIX, MOVE_ASIDE, SYMLINK, FileOp


def W(content, mode=0o644):
    return FileOp(WRITE, content, mode)


def A(content):
    return FileOp(APPEND, content)


D = FileOp(DELETE)


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def refused(root, rendered, match=None):
    """Apply must fail with exit 60 and leave the tree exactly as it was."""
    before = snapshot(root)
    with pytest.raises(TargetError) as info:
        writer.apply(str(root), rendered)
    assert info.value.exit_code == EXIT_WRITE
    assert "\n" not in info.value.one_line()
    if match:
        assert match in info.value.one_line()
    assert snapshot(root) == before
    return info.value.one_line()


# --- plain writes, modes, idempotence ------------------------------------------------------
def test_writes_files_with_their_modes_and_creates_directories(rootfs):
    result = writer.apply(str(rootfs), {
        "etc/hostname": W("node-01\n"),
        "sbin/ifup-pre-local": W("#!/bin/sh\nexit 0\n", 0o755),
        "etc/NetworkManager/system-connections/bond0.nmconnection": W("[connection]\n", 0o600),
    })
    assert (rootfs / "etc/hostname").read_text() == "node-01\n"
    assert mode_of(rootfs / "etc/hostname") == 0o644
    assert mode_of(rootfs / "sbin/ifup-pre-local") == 0o755
    assert mode_of(rootfs / "etc/NetworkManager/system-connections/bond0.nmconnection") == 0o600
    assert mode_of(rootfs / "etc/NetworkManager/system-connections") == 0o755
    assert sorted(c.action for c in result.changes) == ["write"] * 3
    assert not [p for p in snapshot(rootfs) if "pn-new" in p or "pn-backup" in p]


def test_created_directories_are_0755_whatever_the_umask(rootfs):
    old = os.umask(0o077)
    try:
        writer.apply(str(rootfs), {"etc/systemd/network/10-bond0.network": W("[Match]\n")})
    finally:
        os.umask(old)
    assert mode_of(rootfs / "etc/systemd/network/10-bond0.network") == 0o644
    for directory in ("etc", "etc/systemd", "etc/systemd/network"):
        assert mode_of(rootfs / directory) == 0o755, directory


def test_second_run_changes_nothing_and_touches_nothing(rootfs):
    rendered = {"etc/hostname": W("node-01\n"), "sbin/ifup-pre-local": W("#!/bin/sh\n", 0o755),
                "etc/motd": D, "etc/hosts": A("10.0.0.1 node-01\n")}
    writer.apply(str(rootfs), rendered)
    before = snapshot(rootfs)
    inodes = {p: (os.lstat(rootfs / p).st_ino, os.lstat(rootfs / p).st_mtime_ns)
              for p in before}
    result = writer.apply(str(rootfs), rendered)
    assert [c.action for c in result.changes] == ["unchanged"] * 4
    assert result.changed == []
    assert snapshot(rootfs) == before
    assert {p: (os.lstat(rootfs / p).st_ino, os.lstat(rootfs / p).st_mtime_ns)
            for p in before} == inodes


def test_changed_content_or_mode_is_rewritten(rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hostname").write_text("old\n")
    (rootfs / "etc/hosts").write_text("same\n")
    os.chmod(rootfs / "etc/hosts", 0o600)
    result = writer.apply(str(rootfs), {"etc/hostname": W("new\n"), "etc/hosts": W("same\n")})
    assert [c.action for c in result.changes] == ["write", "write"]
    assert (rootfs / "etc/hostname").read_text() == "new\n"
    assert mode_of(rootfs / "etc/hosts") == 0o644


def test_owner_of_a_replaced_file_is_kept(rootfs):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hostname").write_text("old\n")
    os.chown(rootfs / "etc/hostname", 1234, 5678)
    writer.apply(str(rootfs), {"etc/hostname": W("new\n")})
    st = os.stat(rootfs / "etc/hostname")
    assert (st.st_uid, st.st_gid) == (1234, 5678)


# --- appends --------------------------------------------------------------------------
def test_append_adds_only_missing_lines_keeps_the_mode_and_never_duplicates(rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "etc/modules").write_text("# existing\nloop")      # no final newline
    os.chmod(rootfs / "etc/modules", 0o640)
    rendered = {"etc/modules": A("bonding\nloop\n8021q\n")}
    writer.apply(str(rootfs), rendered)
    assert (rootfs / "etc/modules").read_text() == "# existing\nloop\nbonding\n8021q\n"
    assert mode_of(rootfs / "etc/modules") == 0o640
    result = writer.apply(str(rootfs), rendered)
    assert result.changes[0].action == "unchanged"
    assert (rootfs / "etc/modules").read_text() == "# existing\nloop\nbonding\n8021q\n"


def test_append_to_a_missing_file_creates_it(rootfs):
    writer.apply(str(rootfs), {"etc/modules": A("bonding\n")})
    assert (rootfs / "etc/modules").read_text() == "bonding\n"


# --- deletes --------------------------------------------------------------------------
def test_delete_removes_files_and_links_not_their_targets(rootfs):
    (rootfs / "etc/systemd/system").mkdir(parents=True)
    (rootfs / "usr/lib/systemd/system").mkdir(parents=True)
    unit = rootfs / "usr/lib/systemd/system/NetworkManager.service"
    unit.write_text("[Unit]\n")
    os.symlink("/usr/lib/systemd/system/NetworkManager.service",
               rootfs / "etc/systemd/system/dbus-org.freedesktop.NetworkManager.service")
    (rootfs / "etc/motd").write_text("x\n")
    result = writer.apply(str(rootfs), {
        "etc/systemd/system/dbus-org.freedesktop.NetworkManager.service": D,
        "etc/motd": D, "etc/absent": D})
    assert [c.action for c in result.changes] == ["unchanged", "delete", "delete"]
    assert not os.path.lexists(
        rootfs / "etc/systemd/system/dbus-org.freedesktop.NetworkManager.service")
    assert not (rootfs / "etc/motd").exists()
    assert unit.read_text() == "[Unit]\n"


def test_delete_of_a_directory_is_refused(rootfs):
    (rootfs / "etc/motd").mkdir(parents=True)
    refused(rootfs, {"etc/motd": D, "etc/hostname": W("x\n")}, "is a directory")


# --- symlinks in the target -------------------------------------------------------------
def test_dangling_absolute_symlink_is_followed_inside_the_root(rootfs):
    """etc/resolv.conf -> /usr/share/resolv/resolv.conf: written in the root's usr/share."""
    (rootfs / "etc").mkdir()
    os.symlink("/usr/share/resolv/resolv.conf", rootfs / "etc/resolv.conf")
    writer.apply(str(rootfs), {"etc/resolv.conf": W("nameserver 192.0.2.53\n")})
    assert os.readlink(rootfs / "etc/resolv.conf") == "/usr/share/resolv/resolv.conf"
    inside = rootfs / "usr/share/resolv/resolv.conf"
    assert inside.read_text() == "nameserver 192.0.2.53\n"
    assert mode_of(rootfs / "usr/share/resolv") == 0o755


@pytest.mark.parametrize("link", ["/run/systemd/resolve/stub-resolv.conf",
                                  "../run/resolvconf/resolv.conf", "/proc/self/net/x",
                                  "/sys/x", "/dev/x", "/var/run/x"])
def test_a_file_linking_into_the_running_systems_state_is_left_alone(rootfs, caplog, link):
    """run/, proc/, sys/ and dev/ of a target are the host's (bind-mounted to chroot) or a
    tmpfs at boot: a file linking there is left alone with a WARNING, the rest written."""
    (rootfs / "etc").mkdir()
    (rootfs / "var").mkdir()
    os.symlink("../run", rootfs / "var/run")
    os.symlink(link, rootfs / "etc/resolv.conf")
    before = snapshot(rootfs)
    result = writer.apply(str(rootfs), {"etc/resolv.conf": W("nameserver 192.0.2.53\n"),
                                        "etc/hostname": W("node\n")})
    assert [c.action for c in result.changes] == ["write", "skipped"]
    assert [c.path for c in result.changed] == ["etc/hostname"]
    after = snapshot(rootfs)
    del after["etc/hostname"]
    assert after == before  # the link as it was, nothing created under run/ or elsewhere
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert f"etc/resolv.conf -> {link} left alone" in caplog.records[0].getMessage()


@pytest.mark.parametrize("task", ["run/x", "etc/sysconfig/network"])
def test_a_path_leading_into_the_running_systems_state_is_refused(rootfs, task):
    """Not a single file's link: a directory on the way leads there (or the task names
    it): exit 60, nothing written."""
    (rootfs / "etc").mkdir()
    os.symlink("/run/sysconfig", rootfs / "etc/sysconfig")
    text = refused(rootfs, {"etc/hostname": W("x\n"), task: W("x\n")}, "nothing is written there")
    assert "running system's state" in text


def test_absolute_symlink_to_an_existing_file_is_rerooted(rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "data").mkdir()
    (rootfs / "data/hostname").write_text("old\n")
    os.symlink("/data/hostname", rootfs / "etc/hostname")
    writer.apply(str(rootfs), {"etc/hostname": W("new\n")})
    assert os.path.islink(rootfs / "etc/hostname")
    assert (rootfs / "data/hostname").read_text() == "new\n"


def test_absolute_symlink_pointing_at_a_host_file_never_touches_the_host(rootfs, tmp_path):
    host = tmp_path / "host-secret"
    host.write_text("host data\n")
    (rootfs / "etc").mkdir()
    os.symlink(str(host), rootfs / "etc/hosts")
    writer.apply(str(rootfs), {"etc/hosts": W("127.0.0.1 localhost\n")})
    assert host.read_text() == "host data\n"
    rerooted = rootfs / str(host).lstrip("/")
    assert rerooted.read_text() == "127.0.0.1 localhost\n"


def test_relative_symlinks_and_dotdot_are_followed_inside(rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "var/lib/resolvconf").mkdir(parents=True)
    os.symlink("../var/lib/resolvconf/resolv.conf", rootfs / "etc/resolv.conf")
    os.symlink("../etc/./../usr/lib/sysconfig", rootfs / "etc/sysconfig")
    writer.apply(str(rootfs), {"etc/resolv.conf": W("nameserver 192.0.2.53\n"),
                               "etc/sysconfig/network": W("NETWORKING=yes\n")})
    assert (rootfs / "var/lib/resolvconf/resolv.conf").read_text() == \
        "nameserver 192.0.2.53\n"
    assert (rootfs / "usr/lib/sysconfig/network").read_text() == "NETWORKING=yes\n"
    assert os.path.islink(rootfs / "etc/sysconfig")


def test_absolute_directory_symlink_is_rerooted(rootfs, tmp_path):
    (rootfs / "etc").mkdir()
    outside = tmp_path / "outside-dir"
    outside.mkdir()
    os.symlink(str(outside), rootfs / "etc/sysconfig")
    writer.apply(str(rootfs), {"etc/sysconfig/network": W("NETWORKING=yes\n")})
    assert list(outside.iterdir()) == []
    assert (rootfs / str(outside).lstrip("/") / "network").read_text() == "NETWORKING=yes\n"


@pytest.mark.parametrize("link, task", [
    ("../../../../../../../../tmp/pn-escape", "etc/hosts"),
    ("../..", "etc/x/hosts"),
], ids=["file-link", "dir-link"])
def test_relative_symlink_leaving_the_root_is_refused(rootfs, link, task):
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hostname").write_text("keep\n")
    name = task.split("/")[1]
    os.symlink(link, rootfs / "etc" / name)
    text = refused(rootfs, {"etc/hostname": W("new\n"), task: W("x\n")}, "outside the root")
    assert "fix the symlinks" in text
    assert not os.path.exists("/tmp/pn-escape")


def test_escaping_directory_symlink_at_the_top_is_refused(rootfs, tmp_path):
    (tmp_path / "outside").mkdir()
    os.symlink("../outside", rootfs / "etc")
    refused(rootfs, {"etc/hostname": W("x\n")}, "outside the root")
    assert list((tmp_path / "outside").iterdir()) == []


@pytest.mark.parametrize("links", [
    {"etc/a": "b", "etc/b": "a"},
    {"etc/a": "a"},
    {"etc/a": "/etc/b", "etc/b": "/etc/a"},
    {"etc/a": "../etc/a/x"},
], ids=["pair", "self", "absolute-pair", "through-itself"])
def test_symlink_loops_are_detected(rootfs, links):
    (rootfs / "etc").mkdir()
    for path, target in links.items():
        os.symlink(target, rootfs / path)
    refused(rootfs, {"etc/a": W("x\n")})


def test_a_file_where_a_directory_is_expected_is_refused(rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hostname").write_text("old\n")
    (rootfs / "etc/sysconfig").write_text("I am a file\n")
    refused(rootfs, {"etc/hostname": W("new\n"), "etc/sysconfig/network": W("x\n")},
            "is not a directory")


@pytest.mark.parametrize("make", ["dir", "fifo", "link-to-dir"])
def test_a_non_regular_file_where_a_file_is_expected_is_refused(rootfs, make):
    (rootfs / "etc").mkdir()
    if make == "dir":
        (rootfs / "etc/hostname").mkdir()
    elif make == "fifo":
        os.mkfifo(rootfs / "etc/hostname")
    else:
        os.symlink("/etc", rootfs / "etc/hostname")
    refused(rootfs, {"etc/hostname": W("x\n")}, "not a regular file")


@pytest.mark.parametrize("path", ["/etc/hostname", "../etc/hostname", "etc/../../hostname",
                                  "", "/", ".", "etc/\0x"])
def test_unsafe_task_paths_are_refused(rootfs, path):
    refused(rootfs, {path: W("x\n")})


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_rootfs_must_be_a_directory(tmp_path, kind):
    root = tmp_path / "root"
    if kind == "file":
        root.write_text("")
    with pytest.raises(TargetError) as info:
        writer.apply(str(root), {"etc/hostname": W("x\n")})
    assert info.value.exit_code == EXIT_WRITE and "-t" in info.value.one_line()


# --- all or nothing ---------------------------------------------------------------------
def existing_tree(root):
    """A target with files to replace, a file to delete and a symlinked file."""
    (root / "etc/sysconfig/network-scripts").mkdir(parents=True)
    (root / "etc/hostname").write_text("old-name\n")
    os.chmod(root / "etc/hostname", 0o640)
    (root / "etc/motd").write_text("motd\n")
    (root / "etc/sysconfig/network-scripts/ifcfg-eth0").write_text("DEVICE=eth0\n")
    (root / "var").mkdir()
    (root / "var/resolv.conf").write_text("nameserver 10.0.0.1\n")
    os.symlink("/var/resolv.conf", root / "etc/resolv.conf")
    return {
        "etc/hostname": W("new-name\n"),
        "etc/hosts": W("127.0.0.1 localhost\n"),
        "etc/motd": D,
        "etc/modules": A("bonding\n"),
        "etc/resolv.conf": W("nameserver 192.0.2.53\n"),
        "etc/sysconfig/network-scripts/ifcfg-bond0": W("DEVICE=bond0\n"),
        "etc/sysconfig/network-scripts/ifcfg-eth0": W("DEVICE=eth0\nMASTER=bond0\n"),
        "new/dir/deep/file": W("x\n"),
        "sbin/ifup-pre-local": W("#!/bin/sh\n", 0o755),
    }


def failing_on_call(real, n, err=errno.EIO):
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise OSError(err, os.strerror(err))
        return real(*args, **kwargs)
    return fake, calls


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_rename_failing_midway_rolls_everything_back(rootfs, monkeypatch, n):
    rendered = existing_tree(rootfs)
    before = snapshot(rootfs)
    fake, calls = failing_on_call(os.rename, n)
    monkeypatch.setattr(os, "rename", fake)
    with pytest.raises(TargetError) as info:
        writer.apply(str(rootfs), rendered)
    monkeypatch.undo()
    assert calls["n"] >= n
    assert "the root filesystem was left as it was" in info.value.one_line()
    assert snapshot(rootfs) == before


@pytest.mark.parametrize("n", [1, 3, 6])
def test_disk_full_midway_rolls_everything_back(rootfs, monkeypatch, n):
    rendered = existing_tree(rootfs)
    before = snapshot(rootfs)
    fake, _ = failing_on_call(os.write, n, errno.ENOSPC)
    monkeypatch.setattr(os, "write", fake)
    with pytest.raises(TargetError) as info:
        writer.apply(str(rootfs), rendered)
    monkeypatch.undo()
    assert "No space left on device" in info.value.one_line()
    assert snapshot(rootfs) == before


def test_failure_after_a_delete_brings_the_file_back(rootfs, monkeypatch):
    (rootfs / "etc").mkdir()
    (rootfs / "etc/a-motd").write_text("keep me\n")
    os.chmod(rootfs / "etc/a-motd", 0o600)
    before = snapshot(rootfs)
    fake, _ = failing_on_call(os.rename, 1)
    monkeypatch.setattr(os, "rename", fake)
    with pytest.raises(TargetError):
        writer.apply(str(rootfs), {"etc/a-motd": D, "etc/b-hostname": W("x\n")})
    monkeypatch.undo()
    assert snapshot(rootfs) == before


def test_successful_run_after_a_failed_one_gives_the_full_result(rootfs, monkeypatch):
    rendered = existing_tree(rootfs)
    fake, _ = failing_on_call(os.rename, 3)
    monkeypatch.setattr(os, "rename", fake)
    with pytest.raises(TargetError):
        writer.apply(str(rootfs), rendered)
    monkeypatch.undo()
    writer.apply(str(rootfs), rendered)
    assert (rootfs / "etc/hostname").read_text() == "new-name\n"
    assert (rootfs / "var/resolv.conf").read_text() == "nameserver 192.0.2.53\n"
    assert not (rootfs / "etc/motd").exists()
    assert (rootfs / "new/dir/deep/file").read_text() == "x\n"
    assert not [p for p in snapshot(rootfs) if ".pn-" in p]


# --- staging: every new file durable before any rename ---------------------------------
def _many_files(count=40):
    return {f"etc/many/file{i:02}": W(f"content {i}\n") for i in range(count)}


def test_every_new_file_is_synced_before_the_first_rename(rootfs, monkeypatch):
    """Data durable before a name points at it, for every file: all fsyncs of the staged
    files come before the first rename. (How many threads share the fsyncs is the
    scheduler's business on a loaded machine, so it is not asserted.)"""
    import threading

    events, lock = [], threading.Lock()
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        real_fsync(fd)
        with lock:
            events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))

    def rename(src, dst, *args, **kwargs):
        with lock:
            events.append(("rename", src, dst))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    writer.apply(str(rootfs), _many_files())
    monkeypatch.undo()
    first_rename = next(i for i, e in enumerate(events) if e[0] == "rename")
    synced = {os.path.basename(e[1]) for e in events[:first_rename] if e[0] == "fsync"}
    renamed = [e[1] for e in events if e[0] == "rename"]  # names relative to etc/many's handle
    assert len(renamed) == 40 and set(renamed) <= synced
    assert sorted(p.name for p in (rootfs / "etc/many").iterdir()) == \
        [f"file{i:02}" for i in range(40)]


@pytest.mark.parametrize("n", [1, 17, 40])
def test_a_failing_fsync_of_a_staged_file_leaves_the_root_as_it_was(rootfs, monkeypatch, n):
    existing_tree(rootfs)
    before = snapshot(rootfs)
    fake, calls = failing_on_call(os.fsync, n)
    monkeypatch.setattr(os, "fsync", fake)
    with pytest.raises(TargetError) as info:
        writer.apply(str(rootfs), _many_files())
    monkeypatch.undo()
    assert "the root filesystem was left as it was" in info.value.one_line()
    assert snapshot(rootfs) == before  # no staged file, no created directory left


def test_without_threads_the_files_are_synced_one_by_one(rootfs, monkeypatch):
    import threading

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    writer.apply(str(rootfs), _many_files())
    monkeypatch.undo()
    assert (rootfs / "etc/many/file39").read_text() == "content 39\n"
    assert not [p for p in snapshot(rootfs) if ".pn-" in p]


# --- dry run --------------------------------------------------------------------------
def test_dry_run_writes_nothing_and_reports_diffs(rootfs):
    rendered = existing_tree(rootfs)
    before = snapshot(rootfs)
    result = writer.apply(str(rootfs), rendered, dry_run=True)
    assert snapshot(rootfs) == before
    by_path = {c.path: c for c in result.changes}
    assert by_path["etc/motd"].action == "delete"
    assert "-old-name\n+new-name\n" in by_path["etc/hostname"].diff()
    assert "--- a/etc/motd\n+++ /dev/null\n" in by_path["etc/motd"].diff()
    assert "+127.0.0.1 localhost" in by_path["etc/hosts"].diff()


# --- through the CLI --------------------------------------------------------------------
@pytest.fixture
def cli_args(tmp_path):
    doc = make_metadata()
    meta = write_metadata(tmp_path / "meta.json", doc)
    nics = write_nics(tmp_path / "nics.json", nics_from_metadata(doc, ["eno1", "eno2"]))
    return ["-M", meta, "--nics-file", nics, "-o", "centos 7", "--resolvers", "192.0.2.53"]


def test_cli_twice_gives_a_byte_identical_tree_and_says_it_is_up_to_date(cli_args, rootfs):
    with_os(rootfs, "centos", "7")
    code, out, err = run_cli(cli_args + ["-t", rootfs])
    assert (code, err) == (0, "")
    assert out == f"Configuration files written to root filesystem '{rootfs}'\n"
    first = snapshot(rootfs)
    written = len([p for p in first if p != "usr/lib/os-release" and first[p][1]])
    up_to_date = (f"Configuration in root filesystem '{rootfs}' already up to date "
                  f"({written} files unchanged)\n")
    code, out, err = run_cli(cli_args + ["-t", rootfs])
    assert (code, out, err) == (0, up_to_date, "")
    assert snapshot(rootfs) == first
    code, out, err = run_cli(cli_args + ["-t", rootfs, "--dry-run"])  # no change to list
    assert (code, out, err) == (0, up_to_date, "")


def test_cli_file_modes(cli_args, rootfs):
    assert run_cli(cli_args + ["-t", rootfs])[0] == 0
    tree = snapshot(rootfs)
    files = {p: stat.S_IMODE(m) for p, (m, c) in tree.items() if isinstance(c, bytes)}
    assert files["sbin/ifup-pre-local"] == 0o755
    for path, mode in files.items():
        if path != "sbin/ifup-pre-local" and "system-connections" not in path:
            assert mode == 0o644, path


def test_cli_dry_run_prints_actions_and_diffs_and_writes_nothing(cli_args, rootfs):
    with_os(rootfs, "centos", "7")
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hostname").write_text("old-name\n")
    before = snapshot(rootfs)
    code, out, err = run_cli(cli_args + ["-t", rootfs, "--dry-run"])
    assert (code, err) == (0, "")
    assert snapshot(rootfs) == before
    assert "write     etc/hostname\n--- a/etc/hostname\n+++ b/etc/hostname\n" in out
    assert "-old-name\n+node-01.example.net\n" in out
    assert "Configuration files written" not in out


def test_cli_hostile_symlink_is_exit_60_one_line_and_rootfs_unchanged(cli_args, rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "etc/hostname").write_text("old-name\n")
    os.symlink("../../../../../../../../../../etc/passwd", rootfs / "etc/hosts")
    before = snapshot(rootfs)
    code, out, err = run_cli(cli_args + ["-t", rootfs])
    assert code == 60 and out == ""
    assert err.count("\n") == 1 and err.startswith("packet-networking: error: etc/hosts")
    assert snapshot(rootfs) == before


def test_cli_missing_rootfs_is_exit_60(cli_args, tmp_path):
    code, out, err = run_cli(cli_args + ["-t", tmp_path / "not-mounted"])
    assert code == 60 and err.count("\n") == 1 and "-t" in err
    assert not (tmp_path / "not-mounted").exists()


# --- symlink, move-aside, keep_aside --------------------------------------------------------
ASIDE = ASIDE_SUFFIX


def L(link):
    return FileOp(SYMLINK, link=link)


MA = FileOp(MOVE_ASIDE)

WANTS = "etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
UNIT = "/usr/lib/systemd/system/systemd-networkd.service"


def test_symlink_is_created_then_unchanged_and_a_different_one_replaced(rootfs):
    result = writer.apply(str(rootfs), {WANTS: L(UNIT)})
    assert [c.action for c in result.changes] == ["symlink"]
    assert os.readlink(rootfs / WANTS) == UNIT  # the link's text, not resolved
    assert mode_of(rootfs / os.path.dirname(WANTS)) == 0o755
    result = writer.apply(str(rootfs), {WANTS: L(UNIT)})
    assert [c.action for c in result.changes] == ["unchanged"] and not result.changed
    os.unlink(rootfs / WANTS)
    os.symlink("/elsewhere", rootfs / WANTS)
    result = writer.apply(str(rootfs), {WANTS: L(UNIT)})
    assert result.changes[0].action == "symlink" and "-> /elsewhere" in result.changes[0].diff()
    assert os.readlink(rootfs / WANTS) == UNIT


def test_symlink_replaces_a_file_but_not_a_directory(rootfs):
    (rootfs / "etc/x").mkdir(parents=True)
    (rootfs / "etc/file").write_text("old\n")
    writer.apply(str(rootfs), {"etc/file": L("/target")})
    assert os.readlink(rootfs / "etc/file") == "/target"
    refused(rootfs, {"etc/x": L("/target")}, "is a directory")


def test_move_aside_renames_with_a_numbered_suffix_when_taken(rootfs):
    netplan = rootfs / "etc/netplan"
    netplan.mkdir(parents=True)
    (netplan / "50-cloud-init.yaml").write_text("first\n")
    (netplan / "50-cloud-init.yaml.1" f"{ASIDE}").write_text("older\n")  # .1 taken, not plain
    result = writer.apply(str(rootfs), {"etc/netplan/50-cloud-init.yaml": MA})
    assert result.changes[0].aside == f"etc/netplan/50-cloud-init.yaml{ASIDE}"
    assert (netplan / f"50-cloud-init.yaml{ASIDE}").read_text() == "first\n"
    assert not (netplan / "50-cloud-init.yaml").exists()
    (netplan / "50-cloud-init.yaml").write_text("second\n")
    writer.apply(str(rootfs), {"etc/netplan/50-cloud-init.yaml": MA})
    assert (netplan / f"50-cloud-init.yaml.2{ASIDE}").read_text() == "second\n"
    assert (netplan / f"50-cloud-init.yaml.1{ASIDE}").read_text() == "older\n"
    assert (netplan / f"50-cloud-init.yaml{ASIDE}").read_text() == "first\n"


def test_move_aside_or_delete_of_a_missing_file_is_no_change_and_not_listed(rootfs):
    result = writer.apply(str(rootfs), {"etc/netplan/x.yaml": MA, "etc/motd": D}, dry_run=True)
    assert [c.action for c in result.changes] == ["unchanged", "unchanged"]
    assert result.changed == [] and result.unchanged == []  # nothing there to count either
    writer.apply(str(rootfs), {"etc/netplan/x.yaml": MA, "etc/motd": D})
    assert snapshot(rootfs) == {}  # no directory created for them


def test_keep_aside_keeps_the_old_file_then_replaces_it(rootfs):
    (rootfs / "etc/network").mkdir(parents=True)
    interfaces = rootfs / "etc/network/interfaces"
    interfaces.write_text("auto eth0\n")
    os.chmod(interfaces, 0o600)
    op = {"etc/network/interfaces": FileOp(WRITE, "auto lo\n", keep_aside=True)}
    result = writer.apply(str(rootfs), op)
    assert result.changes[0].aside == f"etc/network/interfaces{ASIDE}"
    assert interfaces.read_text() == "auto lo\n" and mode_of(interfaces) == 0o644
    kept = rootfs / f"etc/network/interfaces{ASIDE}"
    assert kept.read_text() == "auto eth0\n" and mode_of(kept) == 0o600
    before = snapshot(rootfs)
    assert writer.apply(str(rootfs), op).changed == []  # unchanged: nothing more kept aside
    assert snapshot(rootfs) == before


def test_keep_aside_of_a_missing_file_is_a_plain_write(rootfs):
    op = {"etc/network/interfaces": FileOp(WRITE, "auto lo\n", keep_aside=True)}
    result = writer.apply(str(rootfs), op)
    assert result.changes[0].aside == ""
    assert sorted(snapshot(rootfs)) == ["etc", "etc/network", "etc/network/interfaces"]


def test_dry_run_shows_the_new_actions(rootfs):
    (rootfs / "etc/netplan").mkdir(parents=True)
    (rootfs / "etc/netplan/a.yaml").write_text("a\n")
    (rootfs / "etc/hosts").write_text("old\n")
    before = snapshot(rootfs)
    result = writer.apply(str(rootfs), {
        "etc/netplan/a.yaml": MA, WANTS: L(UNIT),
        "etc/hosts": FileOp(WRITE, "new\n", keep_aside=True)}, dry_run=True)
    assert snapshot(rootfs) == before
    diffs = {c.path: c.diff() for c in result.changed}
    assert diffs["etc/netplan/a.yaml"] == \
        f"renamed etc/netplan/a.yaml -> etc/netplan/a.yaml{ASIDE}\n"
    assert diffs[WANTS] == f"--- /dev/null\n+++ b/{WANTS}\n@@ -0,0 +1 @@\n+-> {UNIT}\n"
    assert diffs["etc/hosts"].endswith(f"(the old file is kept as etc/hosts{ASIDE})\n")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_the_new_actions_are_rolled_back_with_the_rest(rootfs, monkeypatch, n):
    (rootfs / "etc/netplan").mkdir(parents=True)
    (rootfs / "etc/netplan/a.yaml").write_text("a\n")
    (rootfs / "etc/network").mkdir()
    (rootfs / "etc/network/interfaces").write_text("auto eth0\n")
    os.symlink("/old", rootfs / "etc/link")
    before = snapshot(rootfs)
    fake, calls = failing_on_call(os.rename, n)
    monkeypatch.setattr(os, "rename", fake)
    with pytest.raises(TargetError):
        writer.apply(str(rootfs), {
            "etc/link": L("/new"), "etc/netplan/a.yaml": MA, "zzz/last": W("x\n"),
            "etc/network/interfaces": FileOp(WRITE, "auto lo\n", keep_aside=True)})
    monkeypatch.undo()
    assert snapshot(rootfs) == before


# --- what a replaced file keeps ------------------------------------------------------------
def test_a_replaced_file_keeps_owner_and_extended_attributes(rootfs):
    (rootfs / "etc").mkdir()
    hosts = rootfs / "etc/hosts"
    hosts.write_text("old\n")
    os.chown(hosts, 1234, 5678)
    try:
        os.setxattr(hosts, "user.origin", b"image")
    except OSError as err:
        pytest.skip(f"no user.* extended attributes here: {err.strerror}")
    try:  # root may set a label where SELinux is off; skip only that part where it cannot
        os.setxattr(hosts, "security.selinux", b"system_u:object_r:net_conf_t:s0\0")
        label = True
    except OSError:
        label = False
    writer.apply(str(rootfs), {"etc/hosts": W("new\n")})
    assert hosts.read_text() == "new\n"
    st = os.stat(hosts)
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert os.getxattr(hosts, "user.origin") == b"image"
    if label:
        assert os.getxattr(hosts, "security.selinux") == b"system_u:object_r:net_conf_t:s0\0"


# --- the written callback: inside the transaction -------------------------------------------
@pytest.mark.parametrize("error", [RuntimeError("boom"), SystemExit(3), KeyboardInterrupt()])
def test_a_failing_written_callback_undoes_the_run(rootfs, error):
    rendered = existing_tree(rootfs)
    before = snapshot(rootfs)
    seen = []

    def written(result):
        seen.append(snapshot(rootfs))  # every change is in place when it runs
        raise error

    with pytest.raises(type(error)):
        writer.apply(str(rootfs), rendered, on_written=written)
    assert seen and seen[0]["etc/hostname"][1] == b"new-name\n"
    assert snapshot(rootfs) == before


def test_written_callback_runs_when_nothing_changes_and_not_in_a_dry_run(rootfs):
    calls = []
    rendered = {"etc/hostname": W("x\n")}
    writer.apply(str(rootfs), rendered, dry_run=True, on_written=calls.append)
    assert calls == []
    writer.apply(str(rootfs), rendered, on_written=calls.append)
    writer.apply(str(rootfs), rendered, on_written=calls.append)
    assert [len(r.changed) for r in calls] == [1, 0]


# --- conflicts that a second run would trip over --------------------------------------------
def test_a_dangling_link_needing_a_written_file_as_a_directory_is_refused(rootfs):
    """etc/systemd -> /etc/sysconfig/network while the run writes etc/sysconfig/network:
    refused (exit 60) rather than a first run that succeeds and a second that fails."""
    (rootfs / "etc").mkdir()
    os.symlink("/etc/sysconfig/network", rootfs / "etc/systemd")
    rendered = {"etc/sysconfig/network": W("NETWORKING=yes\n"),
                "etc/systemd/network/10-bond0.network": W("[Match]\n")}
    for _ in range(2):
        text = refused(rootfs, rendered, "needs etc/sysconfig/network as a directory")
        assert "etc/sysconfig/network writes it as a file" in text


def test_a_dangling_directory_link_gets_its_directory_and_a_rerun_agrees(rootfs):
    (rootfs / "etc").mkdir()
    os.symlink("/usr/lib/systemd-conf", rootfs / "etc/systemd")
    rendered = {"etc/systemd/network/10-bond0.network": W("[Match]\n")}
    writer.apply(str(rootfs), rendered)
    assert (rootfs / "usr/lib/systemd-conf/network/10-bond0.network").read_text() == "[Match]\n"
    before = snapshot(rootfs)
    assert writer.apply(str(rootfs), rendered).changed == []
    assert snapshot(rootfs) == before


# --- reads from the target never block --------------------------------------------------------
def test_target_root_refuses_anything_but_a_regular_file_without_blocking(rootfs):
    from packetnetworking.target import TargetRoot

    (rootfs / "usr/sbin").mkdir(parents=True)
    os.mkfifo(rootfs / "usr/sbin/ifup")  # nobody writes to it: a blocking open would hang
    os.symlink("/usr/sbin/ifup", rootfs / "usr/sbin/ifup-link")
    target = TargetRoot(str(rootfs))
    assert target.read("usr/sbin/ifup") is None
    assert target.read("usr/sbin/ifup-link") is None
    assert target.exists("usr/sbin/ifup-link") and not target.is_dir("usr/sbin/ifup")
    assert target.resolved("usr/sbin/ifup-link") == "usr/sbin/ifup"


# --- the builder hands the new actions to the writer unchanged ------------------------------
def test_the_builder_renders_the_new_actions_into_file_ops():
    from packetnetworking.builder import Task
    from packetnetworking.run import Builder

    ops = Builder(None, []).render({
        "a": Task(symlink="/usr/lib/x.service"), "b": Task(move_aside=True),
        "c": Task(content="x\n", mode=0o600, keep_aside=True), "d": Task(delete=True)})
    assert ops == {"a": FileOp(SYMLINK, link="/usr/lib/x.service"), "b": FileOp(MOVE_ASIDE),
                   "c": FileOp(WRITE, "x\n", 0o600, keep_aside=True), "d": FileOp(DELETE)}


def test_a_run_writes_links_moves_and_keeps_aside_what_its_tasks_ask(cli_args, rootfs):
    from packetnetworking.builder import Task
    from packetnetworking.hooks import BuilderHook

    with_os(rootfs, "centos", "7")
    (rootfs / "etc/netplan").mkdir(parents=True)
    (rootfs / "etc/netplan/50-cloud-init.yaml").write_text("network: {version: 2}\n")
    (rootfs / "etc/hostname").write_text("image-default\n")

    class Ownership(BuilderHook):
        def hook_tasks_built(self, builder, tasks):
            tasks[WANTS] = Task(symlink=UNIT)
            tasks["etc/netplan/50-cloud-init.yaml"] = Task(move_aside=True)
            tasks["etc/hostname"] = Task(template="packetnetworking.distros.common:hostname.j2",
                                         keep_aside=True)

    code, out, err = run_cli(cli_args + ["-t", rootfs, "--dry-run"])
    assert (code, err) == (0, "")
    assert f"symlink   {WANTS}\n" in out and "move-aside etc/netplan/50-cloud-init.yaml\n" in out
    code, out, err = run_cli(cli_args + ["-t", rootfs])
    assert (code, err) == (0, "")
    assert os.readlink(rootfs / WANTS) == UNIT
    assert (rootfs / f"etc/netplan/50-cloud-init.yaml{ASIDE}").exists()
    assert not (rootfs / "etc/netplan/50-cloud-init.yaml").exists()
    assert (rootfs / "etc/hostname").read_text() == "node-01.example.net\n"
    assert (rootfs / f"etc/hostname{ASIDE}").read_text() == "image-default\n"
    BuilderHook.registry.remove(Ownership)
