"""The fast paths of docs/performance.md keep their behaviour (no timing is asserted here).

- a run from files imports neither requests nor (for a JSON NIC list) lxml, nor the
  modules of live discovery, nor importlib.metadata when no plugin is installed, nor
  logging when it logs nothing it keeps, nor difflib (click's option suggestions), nor
  locale (click's gettext lookups), nor dataclasses;
- the entry-point pre-scan never hides a plugin importlib.metadata would find;
- compiled templates cached on disk render exactly what a fresh compile renders, and an
  edited, damaged or unwritable cache never changes the output;
- live discovery runs lshw once, with ``-class network``.
"""
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import jinja2
import pytest

from packetnetworking import hooks, metadata, nics, templating
from packetnetworking.builder import Builder

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

_PROBE = textwrap.dedent("""\
    import json, sys
    import click, jinja2
    before = set(sys.modules)
    from packetnetworking import cli, hooks
    try:
        cli.main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({"code": code, "added": sorted(set(sys.modules) - before),
                      "plugins_declared": hooks._may_declare(hooks.PLUGIN_GROUPS)}))
    """)


def _run_probe(tmp_path, nics_file):
    rootfs = tmp_path / "root"
    rootfs.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PACKET_METADATA_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, "-M", str(EXAMPLES / "metadata.json"), "--nics-file",
         str(nics_file), "-o", "centos 7", "-t", str(rootfs), "-q", "--resolvers", "192.0.2.53"],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert (rootfs / "etc/sysconfig/network-scripts/ifcfg-bond0").is_file()
    return result


def test_a_run_from_files_imports_only_what_it_uses(tmp_path):
    nic_list = tmp_path / "nics.json"
    nic_list.write_text(json.dumps([{"name": "enp1s0f0", "mac": "b8:ce:f6:10:20:30"},
                                    {"name": "enp1s0f1", "mac": "b8:ce:f6:10:20:31"}]))
    result = _run_probe(tmp_path, nic_list)
    added = set(result["added"])
    assert "packetnetworking.writer" in added  # the probe sees the run's imports
    for module in ("requests", "urllib3", "lxml", "lxml.etree", "subprocess", "email.utils",
                   "importlib.resources", "logging", "difflib", "locale"):
        assert module not in added, f"{module} imported by a run that does not need it"
    if not result["plugins_declared"]:
        assert "importlib.metadata" not in added
    # an ifcfg run imports no shared stack (netplan, NetworkManager, networkd)
    assert not [m for m in added if m.startswith("packetnetworking.stacks.")
                and m != "packetnetworking.stacks.selection"]


def test_lxml_is_imported_for_lshw_xml_only(tmp_path):
    added = set(_run_probe(tmp_path, EXAMPLES / "lshw.xml")["added"])
    assert "lxml.etree" in added
    assert "requests" not in added


_FREEZE_PROBE = textwrap.dedent("""\
    import gc, json, sys
    from packetnetworking import cli
    how = sys.argv.pop(1)
    before = gc.get_freeze_count()  # not 0 everywhere: Ubuntu 24.04's Python starts with some
    try:
        cli.main() if how == "program" else cli.main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({"code": code, "frozen": gc.get_freeze_count() - before}))
    """)


@pytest.mark.parametrize("how, frozen", [("program", True), ("library", False)])
def test_only_the_program_freezes_its_objects_before_exit(tmp_path, how, frozen):
    """Run as the program, main() freezes the run's objects out of the collector so that
    the interpreter's shutdown skips a last collection; called with argv (an embedding
    program, the tests) it leaves the collector alone."""
    rootfs = tmp_path / "root"
    rootfs.mkdir()
    args = ["-M", str(EXAMPLES / "metadata.json"), "--nics-file", str(EXAMPLES / "lshw.xml"),
            "-o", "centos 7", "-t", str(rootfs), "--resolvers", "192.0.2.53"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", _FREEZE_PROBE, how, *args], capture_output=True,
                         text=True, env=env, cwd=str(tmp_path), timeout=120)
    *printed, last = out.stdout.splitlines()
    result = json.loads(last)
    assert result["code"] == 0, out.stderr
    assert printed == [f"Configuration files written to root filesystem '{rootfs}'"]
    assert (result["frozen"] > 0) is frozen
    assert (rootfs / "etc/sysconfig/network-scripts/ifcfg-bond0").is_file()


def test_a_run_imports_only_the_shared_stack_it_writes(tmp_path):
    from packetnetworking import stacks
    from packetnetworking.builder import DistroBuilder

    for name in stacks.MODULES:
        family = next(b for b in DistroBuilder.registry if name in b.accepted_stacks)
        rootfs = tmp_path / name
        rootfs.mkdir()
        env = dict(os.environ, PYTHONPATH=str(REPO))
        probe = textwrap.dedent(f"""\
            import json, sys
            from packetnetworking import metadata, nics
            from packetnetworking.builder import Builder
            meta = metadata.loads(open({str(EXAMPLES / "metadata.json")!r}, "rb").read())
            found = nics.load_nics_file(open({str(EXAMPLES / "lshw.xml")!r}, "rb").read())
            b = Builder(meta, found, "{family.distros[0]} 99", ["192.0.2.53"],
                        {{"renderer": "{name}"}}).initialize()
            tasks = b.build_tasks({str(rootfs)!r})
            print(json.dumps(sorted(m for m in sys.modules
                                    if m.startswith("packetnetworking.stacks."))))
            """)
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             env=env, cwd=str(tmp_path), timeout=120)
        assert out.returncode == 0, out.stderr
        imported = {m.split(".")[2] for m in json.loads(out.stdout.strip().splitlines()[-1])}
        assert name in imported
        if name != "networkmanager":  # the largest, needed by no other stack
            assert "networkmanager" not in imported, (name, imported)
        if name == "networkmanager":
            assert not imported & {"netplan", "networkd"}, imported


def test_available_stacks_still_lists_every_accepted_stack_with_its_builders():
    from packetnetworking import stacks
    from packetnetworking.builder import DistroBuilder

    for family in DistroBuilder.registry:
        builder = family.__new__(family)
        available = builder.available_stacks()
        assert list(available) == builder.available_stack_names()
        for name, classes in available.items():
            assert classes, (family.__name__, name)
            assert classes == list(family.native_stacks.get(name) or stacks.shared_stacks()[name])


# --- entry points: the pre-scan only ever skips importlib.metadata when it finds nothing ----
@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.setattr(hooks, "_PLUGINS", None)
    return path


def _dist(site, name, entry_points_txt, folder=None):
    dist = site / (folder or f"{name}-1.0.dist-info")
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points_txt is not None:
        (dist / "entry_points.txt").write_text(entry_points_txt)
    return dist


def test_no_plugin_means_no_importlib_metadata_scan(site, monkeypatch):
    _dist(site, "pn_unrelated", "[console_scripts]\ntool = packetnetworking.cli:main\n")
    _dist(site, "pn_no_entry_points", None)
    monkeypatch.setattr(hooks, "_all_entry_points", lambda: pytest.fail("full scan"))
    if hooks._may_declare(hooks.PLUGIN_GROUPS):
        pytest.skip("a distribution on this sys.path declares a packetnetworking plugin")
    assert hooks.entry_points(hooks.HOOK_ENTRY_POINTS) == []
    assert hooks.entry_points(hooks.DISTRO_ENTRY_POINTS) == []


@pytest.mark.parametrize("folder", [None, "pn_plugin-1.0.egg-info"])
def test_declared_plugins_are_found_in_both_groups(site, folder):
    _dist(site, "pn_plugin", "[packetnetworking.hooks]\nmotd = pn_plugin_hooks\n\n"
                             "[packetnetworking.distros]\nmydistro = pn_plugin_distro\n",
          folder=folder)
    assert [e.value for e in hooks.entry_points(hooks.HOOK_ENTRY_POINTS)] == ["pn_plugin_hooks"]
    assert [e.value for e in hooks.entry_points(hooks.DISTRO_ENTRY_POINTS)] == [
        "pn_plugin_distro"]


def test_plugins_inside_an_egg_on_sys_path_are_found(tmp_path, monkeypatch):
    egg = tmp_path / "pn_egg_plugin-1.0-py3.egg"
    info = egg / "EGG-INFO"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: pn-egg-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[packetnetworking.hooks]\negg = pn_egg_hooks\n")
    monkeypatch.syspath_prepend(str(egg))
    monkeypatch.setattr(hooks, "_PLUGINS", None)
    assert hooks._may_declare(hooks.PLUGIN_GROUPS)
    assert [e.value for e in hooks.entry_points(hooks.HOOK_ENTRY_POINTS)] == ["pn_egg_hooks"]


def test_a_zip_on_sys_path_is_never_skipped(tmp_path, monkeypatch):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pn_zip-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pn-zip\n"
                                                     "Version: 1.0\n")
        z.writestr("pn_zip-1.0.dist-info/entry_points.txt",
                   "[packetnetworking.hooks]\nzipped = pn_zip_hooks\n")
    monkeypatch.syspath_prepend(str(archive))
    monkeypatch.setattr(hooks, "_PLUGINS", None)
    assert hooks._may_declare(hooks.PLUGIN_GROUPS)
    assert [e.value for e in hooks.entry_points(hooks.HOOK_ENTRY_POINTS)] == ["pn_zip_hooks"]


def test_a_custom_distribution_finder_is_never_skipped(monkeypatch):
    class Finder:
        @staticmethod
        def find_spec(*args, **kwargs):
            return None

        @staticmethod
        def find_distributions(*args, **kwargs):
            return iter(())

    monkeypatch.setattr(sys, "meta_path", sys.meta_path + [Finder])
    assert hooks._may_declare(hooks.PLUGIN_GROUPS)


def test_groups_of_other_tools_use_importlib_metadata(site):
    _dist(site, "pn_other", "[some.other.group]\nx = y\n")
    assert [e.value for e in hooks.entry_points("some.other.group")] == ["y"]


# --- the template bytecode cache -------------------------------------------------------------
@pytest.fixture
def fresh_environment(monkeypatch, tmp_path):
    """Point the template cache at ``tmp_path/cache``; ``new()`` gives a fresh environment
    (as a new process would have), counting real compiles in ``compiles``."""
    cache_dir = tmp_path / "cache"
    compiles = []
    real_compile = jinja2.Environment.compile

    def counting_compile(self, source, name=None, *args, **kwargs):
        compiles.append(name)
        return real_compile(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    monkeypatch.setattr(templating, "_cache", lambda: templating.TemplateCache(str(cache_dir)))
    monkeypatch.setattr(templating, "_ENVIRONMENT", None)

    class Env:
        directory = cache_dir

        def __init__(self):
            self.compiles = compiles

        def new(self):
            templating._ENVIRONMENT = None
            compiles.clear()
            return templating.environment()

    yield Env()
    templating._ENVIRONMENT = None


def _render_example(tmp_path):
    meta = metadata.loads((EXAMPLES / "metadata.json").read_bytes())
    found = nics.load_nics_file((EXAMPLES / "lshw.xml").read_bytes())
    rootfs = tmp_path / "root"
    rootfs.mkdir(exist_ok=True)
    builder = Builder(meta, found, "centos 7", ["192.0.2.53"], {"renderer": "auto"}).initialize()
    return {path: (r.action, r.content, r.mode)
            for path, r in builder.render(builder.build_tasks(str(rootfs))).items()}


def test_cached_templates_render_what_a_fresh_compile_renders(fresh_environment, tmp_path):
    fresh_environment.new()
    cold = _render_example(tmp_path)
    compiled = len(fresh_environment.compiles)
    assert compiled >= 5, "the example renders several templates"
    assert len(fresh_environment.compiles) == len(set(fresh_environment.compiles)), \
        "a template is compiled once per run, whatever the number of files it renders"
    entries = sorted(p.name for p in fresh_environment.directory.iterdir())
    assert len(entries) == compiled and not [e for e in entries if e.endswith(".tmp")]

    fresh_environment.new()
    warm = _render_example(tmp_path)
    assert fresh_environment.compiles == []
    assert warm == cold
    assert "IPADDR=198.51.100.11" in warm["etc/sysconfig/network-scripts/ifcfg-bond0"][1]


@pytest.fixture
def template_package(tmp_path, monkeypatch):
    pkg = tmp_path / "pkgs" / "pn_cache_probe"
    (pkg / "templates").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    yield pkg / "templates"
    sys.modules.pop("pn_cache_probe", None)


def test_an_edited_template_is_compiled_again(fresh_environment, template_package):
    (template_package / "t.j2").write_text("# {{ header }}\nvalue={{ value }}\n")
    fresh_environment.new()
    assert templating.render("pn_cache_probe:t.j2", value=1).endswith("value=1\n")

    (template_package / "t.j2").write_text("# {{ header }}\nother={{ value }}\n")
    fresh_environment.new()
    assert templating.render("pn_cache_probe:t.j2", value=2).endswith("other=2\n")
    assert fresh_environment.compiles == ["pn_cache_probe:t.j2"]

    fresh_environment.new()
    assert templating.render("pn_cache_probe:t.j2", value=3).endswith("other=3\n")
    assert fresh_environment.compiles == []


def test_a_damaged_cache_entry_is_compiled_again(fresh_environment, template_package):
    (template_package / "t.j2").write_text("value={{ value }}\n")
    fresh_environment.new()
    templating.render("pn_cache_probe:t.j2", value=1)
    (entry,) = fresh_environment.directory.iterdir()
    entry.write_bytes(entry.read_bytes()[:-7])   # truncated, as by a full disk
    fresh_environment.new()
    assert templating.render("pn_cache_probe:t.j2", value=4) == "value=4\n"
    assert fresh_environment.compiles == ["pn_cache_probe:t.j2"]


@pytest.mark.parametrize("damage", ["magic", "checksum", "garbage"])
def test_an_entry_of_another_jinja2_or_template_is_compiled_again(fresh_environment,
                                                                  template_package, damage):
    """The entry is read in one piece (templating.TemplateCache.load_bytecode): another
    Jinja2's magic, a checksum of other source or garbage after a valid header all mean
    "compile again", never "render this"."""
    import marshal
    import pickle

    (template_package / "t.j2").write_text("value={{ value }}\n")
    fresh_environment.new()
    templating.render("pn_cache_probe:t.j2", value=1)
    (entry,) = fresh_environment.directory.iterdir()
    magic = jinja2.bccache.bc_magic
    stale = marshal.dumps(compile("raise AssertionError('stale code rendered')", "x", "exec"))
    if damage == "magic":
        data = magic[:-1] + b"\0" + entry.read_bytes()[len(magic):]
    elif damage == "checksum":
        data = magic + pickle.dumps("0" * 40, 2) + stale
    else:
        data = entry.read_bytes()[:len(magic)] + b"\x80\x02garbage"
    entry.write_bytes(data)
    fresh_environment.new()
    assert templating.render("pn_cache_probe:t.j2", value=5) == "value=5\n"
    assert fresh_environment.compiles == ["pn_cache_probe:t.j2"]


def test_an_unwritable_cache_only_costs_a_compile(monkeypatch, tmp_path, template_package):
    (template_package / "t.j2").write_text("value={{ value }}\n")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setattr(templating, "_cache",
                        lambda: templating.TemplateCache(str(blocker / "cache")))
    monkeypatch.setattr(templating, "_ENVIRONMENT", None)
    try:
        assert templating.render("pn_cache_probe:t.j2", value=5) == "value=5\n"
    finally:
        templating._ENVIRONMENT = None
    assert blocker.read_text() == ""


def test_templates_of_a_zipped_package_still_load(tmp_path, monkeypatch):
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pn_zipped_templates/__init__.py", "")
        z.writestr("pn_zipped_templates/templates/z.j2", "zipped={{ value }}\n")
    monkeypatch.syspath_prepend(str(archive))
    monkeypatch.setattr(templating, "_ENVIRONMENT", None)
    try:
        assert templating.render("pn_zipped_templates:z.j2", value=6) == "zipped=6\n"
        with pytest.raises(jinja2.TemplateNotFound):
            templating.render("pn_zipped_templates:missing.j2")
        with pytest.raises(jinja2.TemplateNotFound):
            templating.render("packetnetworking.distros.redhat:missing.j2")
    finally:
        templating._ENVIRONMENT = None
        sys.modules.pop("pn_zipped_templates", None)


# --- live discovery --------------------------------------------------------------------------
def test_live_discovery_runs_lshw_once_for_the_network_class(tmp_path, monkeypatch):
    capture = tmp_path / "capture.xml"
    capture.write_bytes((EXAMPLES / "lshw.xml").read_bytes())
    calls = tmp_path / "calls"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    lshw = bindir / "lshw"
    lshw.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec /bin/cat "{capture}"\n')
    lshw.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    sysfs = tmp_path / "sys-class-net"
    sysfs.mkdir()
    found = nics.discover(str(sysfs))
    assert [n.mac for n in found] == ["b8:ce:f6:10:20:30", "b8:ce:f6:10:20:31",
                                      "b8:ce:f6:10:20:32", "b8:ce:f6:10:20:33"]
    (line,) = calls.read_text().splitlines()
    assert line.split()[:3] == ["-class", "network", "-xml"]
