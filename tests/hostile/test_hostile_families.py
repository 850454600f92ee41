"""The hostile target corpus for every family and stack, not only the RedHat one.

For each OS/stack, the directory its network files go to (found from a clean run) is
made hostile in turn: a relative symlink leaving the root, an absolute one (re-rooted),
a loop, a file, a FIFO for its main file, an immutable directory (a failure half-way,
rolled back). The root starts as a previous run for another server left it, so a
rollback has real files to restore.
"""
import os

import pytest

from .harness import Workspace, run_in_process, snapshot
from .test_hostile_concurrency import other_server

STACKS = [("debian 12", "eni"), ("ubuntu 22.04", "netplan"), ("ubuntu 24.04", "networkd"),
          ("rocky 9", "networkmanager"), ("opensuse 15.5", "wicked"), ("alpine 3.18", "eni"),
          ("flatcar 3510.2.0", "networkd"), ("centos 7", "ifcfg-rh")]


def _args(ws, os_option, renderer, doc=None):
    return ws.args(doc, os_option=os_option, extra=["--renderer", renderer])


@pytest.fixture(scope="module")
def clean_outputs(tmp_path_factory):
    """{(os, renderer): (previous-run snapshot, expected files, stack directory)}."""
    result = {}
    for os_option, renderer in STACKS:
        ws = Workspace(tmp_path_factory.mktemp("clean"))
        run = run_in_process(_args(ws, os_option, renderer, other_server()))
        assert run.code == 0, str(run)
        previous = snapshot(ws.root)
        this = Workspace(tmp_path_factory.mktemp("this"))
        assert run_in_process(_args(this, os_option, renderer)).code == 0
        ours = snapshot(this.root)
        files = sorted(p for p, v in previous.items() if v[0].startswith("-"))
        # the deepest directory holding a file this server changes (not the host files)
        changed = [p for p in files if ours.get(p) != previous[p]
                   and not p.startswith(("etc/hostname", "etc/hosts", "etc/resolv.conf"))]
        directory = os.path.dirname(max(changed, key=lambda p: p.count("/")))
        result[(os_option, renderer)] = (ws.root, files, directory)
    return result


def _restore_previous(ws, previous_root):
    import shutil
    shutil.rmtree(ws.root)
    shutil.copytree(previous_root, ws.root, symlinks=True)


def _replace(path):
    import shutil
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def relative_escape(ws, directory, files):
    depth = directory.count("/") + 1
    os.symlink("../" * depth + "../outside/" + directory, _replace(ws.root / directory))
    return 60


def absolute_outside(ws, directory, files):
    os.symlink(str(ws.outside / directory), _replace(ws.root / directory))
    return 0


def loop(ws, directory, files):
    os.symlink(os.path.basename(directory), _replace(ws.root / directory))
    return 60


def file_instead(ws, directory, files):
    _replace(ws.root / directory).write_text("not a directory\n")
    return 60


def fifo_main_file(ws, directory, files):
    main = next(f for f in files if f.startswith(directory + "/"))
    os.mkfifo(_replace(ws.root / main))
    return 60


SETUPS = [relative_escape, absolute_outside, loop, file_instead, fifo_main_file]


@pytest.mark.parametrize("setup", SETUPS, ids=[f.__name__ for f in SETUPS])
@pytest.mark.parametrize("os_option,renderer", STACKS, ids=[f"{o}-{r}" for o, r in STACKS])
def test_hostile_stack_directory(ws, clean_outputs, os_option, renderer, setup):
    previous_root, files, directory = clean_outputs[(os_option, renderer)]
    _restore_previous(ws, previous_root)
    expected = setup(ws, directory, files)
    result = ws.run(_args(ws, os_option, renderer))
    if expected:
        ws.assert_failed(result, expected)
    else:
        ws.assert_succeeded(result)


@pytest.mark.parametrize("os_option,renderer", STACKS, ids=[f"{o}-{r}" for o, r in STACKS])
def test_immutable_stack_directory_rolls_back(ws, immutable, clean_outputs, os_option,
                                              renderer):
    previous_root, files, directory = clean_outputs[(os_option, renderer)]
    _restore_previous(ws, previous_root)
    immutable(ws.root / directory)
    ws.mark()
    result = ws.run(_args(ws, os_option, renderer))
    ws.assert_failed(result, 60)


@pytest.mark.parametrize("os_option,renderer", STACKS[:3], ids=[f"{o}-{r}" for o, r in STACKS[:3]])
def test_read_only_target_subprocess(ws, mounts, clean_outputs, os_option, renderer):
    previous_root, files, directory = clean_outputs[(os_option, renderer)]
    mounts(ws.root, "size=2m,mode=0755")
    import shutil
    shutil.copytree(previous_root, ws.root, symlinks=True, dirs_exist_ok=True)
    mounts.remount(ws.root, "ro")
    ws.mark()
    result = ws.run(_args(ws, os_option, renderer), subprocess=True)
    ws.assert_failed(result, 60)
