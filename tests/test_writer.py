"""The writer: confined to the rootfs, atomic per file, all or nothing, idempotent.

Every failure case asserts the whole target tree (contents, modes, links, directories)
is exactly as before. Tests run as root, where permissions do not stop writes, so
failures midway are forced by making one ``os.rename`` / ``os.write`` call fail.
"""
import errno
import os
import stat

import pytest

from helpers import make_metadata, nics_from_metadata, run_cli, snapshot, write_metadata, \
    write_nics
from packetnetworking import writer
from packetnetworking.builder import APPEND, DELETE, WRITE, Rendered
from packetnetworking.errors import EXIT_WRITE, TargetError


def W(content, mode=0o644):
    return Rendered(WRITE, content, mode)


def A(content):
    return Rendered(APPEND, content)


D = Rendered(DELETE)


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
    """etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf: written in the root's run/."""
    host_file = "/run/systemd/resolve/stub-resolv.conf"
    host_before = open(host_file, "rb").read() if os.path.exists(host_file) else None
    (rootfs / "etc").mkdir()
    os.symlink(host_file, rootfs / "etc/resolv.conf")
    writer.apply(str(rootfs), {"etc/resolv.conf": W("nameserver 192.0.2.53\n")})
    assert os.readlink(rootfs / "etc/resolv.conf") == host_file
    inside = rootfs / "run/systemd/resolve/stub-resolv.conf"
    assert inside.read_text() == "nameserver 192.0.2.53\n"
    assert mode_of(rootfs / "run/systemd/resolve") == 0o755
    host_after = open(host_file, "rb").read() if os.path.exists(host_file) else None
    assert host_after == host_before


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
    (rootfs / "run/resolvconf").mkdir(parents=True)
    os.symlink("../run/resolvconf/resolv.conf", rootfs / "etc/resolv.conf")
    os.symlink("../etc/./../usr/lib/sysconfig", rootfs / "etc/sysconfig")
    writer.apply(str(rootfs), {"etc/resolv.conf": W("nameserver 192.0.2.53\n"),
                               "etc/sysconfig/network": W("NETWORKING=yes\n")})
    assert (rootfs / "run/resolvconf/resolv.conf").read_text() == "nameserver 192.0.2.53\n"
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
    (root / "run").mkdir()
    (root / "run/resolv.conf").write_text("nameserver 10.0.0.1\n")
    os.symlink("/run/resolv.conf", root / "etc/resolv.conf")
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
    assert (rootfs / "run/resolv.conf").read_text() == "nameserver 192.0.2.53\n"
    assert not (rootfs / "etc/motd").exists()
    assert (rootfs / "new/dir/deep/file").read_text() == "x\n"
    assert not [p for p in snapshot(rootfs) if ".pn-" in p]


# --- staging: every new file durable before any rename ---------------------------------
def _many_files(count=40):
    return {f"etc/many/file{i:02}": W(f"content {i}\n") for i in range(count)}


def test_every_new_file_is_synced_before_the_first_rename(rootfs, monkeypatch):
    """Data durable before a name points at it, for every file: all fsyncs of the staged
    files (several threads at once) come before the first rename."""
    import threading

    events, lock = [], threading.Lock()
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        real_fsync(fd)
        with lock:
            events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"),
                           threading.current_thread().name))

    def rename(src, dst, *args, **kwargs):
        with lock:
            events.append(("rename", src, dst))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    writer.apply(str(rootfs), _many_files())
    monkeypatch.undo()
    first_rename = next(i for i, e in enumerate(events) if e[0] == "rename")
    synced = {e[1] for e in events[:first_rename] if e[0] == "fsync"}
    renamed = [e[1] for e in events if e[0] == "rename"]
    assert len(renamed) == 40 and set(renamed) <= synced
    assert len({e[2] for e in events if e[0] == "fsync" and e[1] in synced}) > 1
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


def test_cli_twice_gives_a_byte_identical_tree_and_dry_run_then_shows_no_change(cli_args,
                                                                               rootfs):
    code, out, err = run_cli(cli_args + ["-t", rootfs])
    assert code == 0, err
    assert out == f"Configuration files written to root filesystem '{rootfs}'\n"
    first = snapshot(rootfs)
    code, _, err = run_cli(cli_args + ["-t", rootfs])
    assert code == 0, err
    assert snapshot(rootfs) == first
    code, out, _ = run_cli(cli_args + ["-t", rootfs, "--dry-run"])
    assert code == 0
    actions = {line.split()[0] for line in out.splitlines() if line and line[0].isalpha()}
    assert actions == {"unchanged"}


def test_cli_file_modes(cli_args, rootfs):
    assert run_cli(cli_args + ["-t", rootfs])[0] == 0
    tree = snapshot(rootfs)
    files = {p: stat.S_IMODE(m) for p, (m, c) in tree.items() if isinstance(c, bytes)}
    assert files["sbin/ifup-pre-local"] == 0o755
    for path, mode in files.items():
        if path != "sbin/ifup-pre-local" and "system-connections" not in path:
            assert mode == 0o644, path


def test_cli_dry_run_prints_actions_and_diffs_and_writes_nothing(cli_args, rootfs):
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
