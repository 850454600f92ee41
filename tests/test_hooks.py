"""BuilderHook: every subclass is a hook; triggers, fresh instances, errors, plugins,
the built-in plan hooks. Test hooks are unregistered after each test (conftest)."""
import json
import sys
import textwrap

import pytest

from support.helpers import make_metadata, nics_from_metadata, run_cli, snapshot, with_os, \
    write_metadata, write_nics
from packetnetworking import hooks, metadata
from packetnetworking import distros
from packetnetworking.builder import Task
from packetnetworking.run import Builder
from packetnetworking.errors import NICError, NothingToWrite
from packetnetworking.hooks import BuilderHook, HookError, LogicalInterfaceNamesHook, \
    SingleInterfaceHook
from packetnetworking.nics import NIC


def make_builder(doc=None, os_option="centos 7"):
    doc = doc or make_metadata()
    found = [NIC(name=f"enp1s0f{i}", mac=iface["mac"], driver="i40e", logical_name=f"eth{i}")
             for i, iface in enumerate(doc["network"]["interfaces"])]
    return Builder(metadata.parse(doc), found, os_option, ["192.0.2.53"])


def test_every_subclass_registers_itself_including_subclasses_of_hooks():
    class First(BuilderHook):
        pass

    class Second(First):
        pass

    assert First in BuilderHook.registry and Second in BuilderHook.registry
    assert SingleInterfaceHook in BuilderHook.registry
    assert LogicalInterfaceNamesHook in BuilderHook.registry


def test_triggers_in_order_with_their_arguments_and_a_fresh_instance_each_time(rootfs):
    calls, instances = [], []

    class Recorder(BuilderHook):
        def __init__(self):
            instances.append(self)

        def hook_initialized(self, builder):
            calls.append(("initialized", builder.network is not None))

        def hook_tasks_built(self, builder, tasks):
            calls.append(("tasks_built", "etc/hostname" in tasks))

        def hook_written(self, builder, rootfs_arg, result):
            calls.append(("written", rootfs_arg, bool(result.changed)))

    b = make_builder().initialize()
    b.run(str(rootfs))
    assert calls == [("initialized", True), ("tasks_built", True),
                     ("written", str(rootfs), True)]
    assert len({id(i) for i in instances}) == len(instances) == 3


def test_dry_run_does_not_trigger_written(rootfs):
    seen = []

    class Recorder(BuilderHook):
        def hook_written(self, builder, rootfs_arg, result):
            seen.append(rootfs_arg)

    make_builder().initialize().run(str(rootfs), dry_run=True)
    assert seen == [] and snapshot(rootfs) == {}


def test_hook_without_the_method_is_skipped_and_unknown_trigger_is_harmless():
    class Quiet(BuilderHook):
        pass

    hooks.trigger("no_such_trigger", object())  # no hook defines it: nothing happens


def test_exception_in_a_hook_stops_the_run_naming_the_hook():
    class Broken(BuilderHook):
        def hook_initialized(self, builder):
            raise RuntimeError("hook exploded")

    with pytest.raises(HookError, match="hook Broken failed in hook_initialized: "
                                        "RuntimeError: hook exploded") as info:
        make_builder().initialize()
    assert isinstance(info.value.__cause__, RuntimeError) and info.value.exit_code == 70


def test_initialized_hook_may_edit_the_model_before_files_are_built(rootfs):
    class Rename(BuilderHook):
        def hook_initialized(self, builder):
            for iface in builder.network.interfaces:
                iface.name = iface.name.replace("enp1s0f", "em")

    b = make_builder().initialize()
    tasks = b.build_tasks(str(rootfs))
    names = " ".join(tasks)
    assert "em0" in names and "em1" in names and "enp1s0f" not in names


def test_tasks_built_hook_may_remove_delete_add_and_replace_tasks(rootfs):
    (rootfs / "etc").mkdir()
    (rootfs / "etc" / "motd").write_text("old motd\n")

    class Edit(BuilderHook):
        def hook_tasks_built(self, builder, tasks):
            tasks.pop("etc/hosts")
            tasks["etc/motd"] = None                                  # delete
            tasks["etc/issue"] = Task(content="welcome\n", mode=0o600)  # literal content
            tasks["etc/hostname.copy"] = "packetnetworking.distros.common:hostname.j2"

    make_builder().initialize().run(str(rootfs))
    assert not (rootfs / "etc" / "hosts").exists()
    assert not (rootfs / "etc" / "motd").exists()
    assert (rootfs / "etc" / "issue").read_text() == "welcome\n"
    assert (rootfs / "etc" / "issue").stat().st_mode & 0o777 == 0o600
    assert (rootfs / "etc" / "hostname.copy").read_text() == "node-01.example.net\n"


def test_hook_emptying_the_tasks_is_nothing_to_write(rootfs):
    class Empty(BuilderHook):
        def hook_tasks_built(self, builder, tasks):
            tasks.clear()

    with pytest.raises(NothingToWrite):
        make_builder().initialize().run(str(rootfs))
    assert snapshot(rootfs) == {}


def _cli_files(tmp_path, doc):
    meta = write_metadata(tmp_path / "meta.json", doc)
    nics = write_nics(tmp_path / "nics.json", nics_from_metadata(doc))
    return ["-M", meta, "--nics-file", nics, "-o", "centos 7", "--resolvers", "192.0.2.53"]


def test_cli_hook_errors_exit_codes(tmp_path, rootfs):
    args = _cli_files(tmp_path, make_metadata()) + ["-t", rootfs]

    class Empty(BuilderHook):
        def hook_tasks_built(self, builder, tasks):
            tasks.clear()

    code, out, err = run_cli(args)
    assert code == 30 and out == ""
    assert err.count("\n") == 1 and "produced no file" in err
    BuilderHook.registry.remove(Empty)

    class Refuse(BuilderHook):
        def hook_initialized(self, builder):
            raise NICError("the hook says no", "fix the hook")

    code, out, err = run_cli(args)
    assert (code, err) == (50, "packet-networking: error: the hook says no; fix the hook\n")
    BuilderHook.registry.remove(Refuse)

    class Crash(BuilderHook):
        def hook_written(self, builder, rootfs, result):
            raise ValueError("bug\nin a hook")

    code, out, err = run_cli(args)
    assert code == 70 and err.count("\n") == 1 and "Traceback" not in err
    assert "hook Crash failed in hook_written: ValueError: bug in a hook" in err


# --- built-in plan hooks ------------------------------------------------------------------
@pytest.mark.parametrize("plan", ["baremetal_1e", "x1.small.x86", "X1.Small.X86"])
def test_single_interface_plans_keep_only_the_first_interface(plan, rootfs):
    b = make_builder(make_metadata(plan=plan)).initialize()
    assert [i.meta_name for i in b.network.interfaces] == ["eth0"]
    written = " ".join(b.build_tasks(str(rootfs)))
    assert "enp1s0f0" in written and "enp1s0f1" not in written


def test_other_plans_keep_every_interface():
    b = make_builder(make_metadata(plan="c3.small.x86")).initialize()
    assert [i.meta_name for i in b.network.interfaces] == ["eth0", "eth1"]


def test_baremetal_hua_uses_kernel_names(rootfs):
    b = make_builder(make_metadata(plan="baremetal_hua")).initialize()
    assert [i.name for i in b.network.interfaces] == ["eth0", "eth1"]
    written = " ".join(b.build_tasks(str(rootfs)))
    assert "enp1s0f" not in written


def test_other_plans_keep_udev_names():
    b = make_builder(make_metadata(plan="c3.small.x86")).initialize()
    assert [i.name for i in b.network.interfaces] == ["enp1s0f0", "enp1s0f1"]


# --- third-party hooks from the entry-point group -------------------------------------------
@pytest.fixture
def plugin_distribution(tmp_path, monkeypatch):
    """An installed distribution declaring a hook in ``packetnetworking.hooks``."""
    site = tmp_path / "site"
    dist = site / "pn_test_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pn-test-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[packetnetworking.hooks]\nmotd = pn_test_plugin_hooks\n")
    (site / "pn_test_plugin_hooks.py").write_text(textwrap.dedent("""\
        from packetnetworking.builder import Task
        from packetnetworking.hooks import BuilderHook


        class PluginMotdHook(BuilderHook):
            def hook_tasks_built(self, builder, tasks):
                tasks["etc/motd"] = Task(content=f"plugin for {builder.network.hostname}\\n")
        """))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(hooks, "_LOADED", False)
    if hasattr(hooks, "_PLUGINS"):
        monkeypatch.setattr(hooks, "_PLUGINS", None)
    yield site
    sys.modules.pop("pn_test_plugin_hooks", None)


def test_entry_point_hooks_are_loaded_and_run(plugin_distribution, tmp_path, rootfs):
    with_os(rootfs, "centos", "7")
    code, out, err = run_cli(_cli_files(tmp_path, make_metadata()) + ["-t", rootfs])
    assert (code, err) == (0, "")
    assert (rootfs / "etc" / "motd").read_text() == "plugin for node-01.example.net\n"
    assert any(cls.__name__ == "PluginMotdHook" for cls in BuilderHook.registry)


def test_plugins_load_once(plugin_distribution):
    hooks.load_plugins()
    hooks.load_plugins()
    assert [c.__name__ for c in BuilderHook.registry].count("PluginMotdHook") == 1


def test_plan_hook_through_the_cli(tmp_path, rootfs):
    doc = make_metadata(plan="baremetal_1e")
    code, out, err = run_cli(_cli_files(tmp_path, doc) + ["-t", rootfs])
    assert code == 0, err
    text = json.dumps({k: v[1].decode() for k, v in snapshot(rootfs).items()
                       if isinstance(v[1], bytes)})
    assert "0c:c4:7a:aa:00:10" in text and "0c:c4:7a:aa:00:11" not in text


# --- Builder.run picks the DistroBuilder by distro ("*" is the catch-all) --------------------
def _catch_all():
    from packetnetworking.builder import DistroBuilder, NetworkBuilder

    class MarkerBuilder(NetworkBuilder):
        def build_tasks(self):
            self.tasks["etc/marker"] = Task(content=f"{self.os.distro} {self.os.version}\n")

    class CatchAll(DistroBuilder):
        distros = ["*"]
        network_builders = [MarkerBuilder]

    return CatchAll


def test_unknown_distro_goes_to_a_catch_all_builder(rootfs):
    from packetnetworking.builder import DistroBuilder
    catch_all = _catch_all()
    assert distros.find("plan9") is catch_all
    make_builder(os_option="Plan9 4").initialize().run(str(rootfs))
    assert (rootfs / "etc/marker").read_text() == "plan9 4\n"


def test_a_builder_naming_the_distro_wins_over_the_catch_all(rootfs):
    from packetnetworking.builder import DistroBuilder
    _catch_all()
    chosen = distros.find("centos")
    assert "centos" in chosen.distros and "*" not in chosen.distros
    b = make_builder(os_option="CentOS 7").initialize()
    b.run(str(rootfs))
    assert type(b.distro_builder) is chosen
    assert not (rootfs / "etc/marker").exists()


def test_a_later_builder_for_the_same_distro_overrides_the_built_in():
    from packetnetworking.builder import DistroBuilder

    class MyCentOS(DistroBuilder):
        distros = ["centos"]

    assert distros.find("centos") is MyCentOS


def test_no_builder_and_no_catch_all_lists_the_supported_distros():
    from packetnetworking.builder import DistroBuilder
    from packetnetworking.errors import UnsupportedOS
    if any("*" in b.distros for b in DistroBuilder.registry):
        pytest.skip("a catch-all distro builder is registered")
    with pytest.raises(UnsupportedOS) as info:
        distros.find("plan9")
    assert info.value.exit_code == 20
    assert "no builder for distro 'plan9' (supported:" in info.value.one_line()
    assert "centos" in info.value.one_line() and "rocky" in info.value.one_line()
