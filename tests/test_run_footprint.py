"""What a run loads and what it leaves behind, outside the target root.

- a run from files imports neither requests nor (for a JSON NIC list) lxml, and of the
  shared stacks' builders only those of the stack it writes;
- a run writes nothing under the installed package (no compiled templates, no caches);
- plugins are found through their entry-point groups, and a plugin package's
  templates load from wherever it is installed (a zip included);
- live discovery runs lshw once, with ``-class network``.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import jinja2
import pytest

from packetnetworking import hooks, nics, templating

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

_PROBE = textwrap.dedent("""\
    import json, sys
    before = set(sys.modules)
    from packetnetworking import cli
    try:
        cli.main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    print(json.dumps({"code": code, "added": sorted(set(sys.modules) - before)}))
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


def test_a_run_from_files_imports_neither_requests_nor_lxml(tmp_path):
    nic_list = tmp_path / "nics.json"
    nic_list.write_text(json.dumps([{"name": "enp1s0f0", "mac": "b8:ce:f6:10:20:30"},
                                    {"name": "enp1s0f1", "mac": "b8:ce:f6:10:20:31"}]))
    added = set(_run_probe(tmp_path, nic_list)["added"])
    assert "packetnetworking.writer" in added  # the probe sees the run's imports
    for module in ("requests", "urllib3", "lxml", "lxml.etree"):
        assert module not in added, f"{module} imported by a run that does not need it"
    # an ifcfg-rh run imports no shared renderer's builders (netplan, NetworkManager,
    # networkd); it reads what each one reads (their foreign.py) to make them step aside
    assert "packetnetworking.renderers.ifcfg_rh.builder" in added
    assert not [m for m in added if m.startswith(("packetnetworking.renderers.netplan.",
                                                  "packetnetworking.renderers.networkmanager.",
                                                  "packetnetworking.renderers.networkd."))
                and m.endswith(".builder")]


def test_lxml_is_imported_for_lshw_xml_only(tmp_path):
    added = set(_run_probe(tmp_path, EXAMPLES / "lshw.xml")["added"])
    assert "lxml.etree" in added
    assert "requests" not in added


_FROM_COPY = textwrap.dedent("""\
    import sys
    import packetnetworking
    assert packetnetworking.__file__.startswith(sys.argv.pop(1)), packetnetworking.__file__
    from packetnetworking.cli import main
    main()
    """)


@pytest.mark.parametrize("os_option, renderer", [
    ("centos 7", "auto"), ("ubuntu 22.04", "netplan"), ("ubuntu 22.04", "networkmanager"),
    ("debian 12", "networkd"), ("opensuse 15.5", "auto"), ("alpine 3.19", "auto")])
def test_a_run_writes_nothing_under_the_installed_package(tmp_path, os_option, renderer):
    """The run uses a fresh copy of the package, so that nothing a former run left
    there can hide a write; Python's own module bytecode is turned off, so any new
    or changed file would be the tool's (a compiled-template cache, say)."""
    installed = tmp_path / "installed"
    shutil.copytree(REPO / "packetnetworking", installed / "packetnetworking",
                    ignore=shutil.ignore_patterns("__pycache__"))

    def files():
        return {p: p.stat().st_mtime_ns for p in installed.rglob("*")}

    before = files()
    rootfs = tmp_path / "root"
    rootfs.mkdir()
    env = dict(os.environ, PYTHONPATH=str(installed), PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run(
        [sys.executable, "-c", _FROM_COPY, str(installed), "-M", str(EXAMPLES / "metadata.json"),
         "--nics-file", str(EXAMPLES / "lshw.xml"), "-o", os_option, "-t", str(rootfs),
         "--resolvers", "192.0.2.53", "--renderer", renderer],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    assert [p for p in rootfs.rglob("*") if p.is_file()], "the run wrote its files"
    changed = sorted(str(p.relative_to(installed)) for p, mtime in files().items()
                     if before.get(p) != mtime)
    assert changed == []


def test_a_run_imports_only_the_builders_of_the_shared_stack_it_writes(tmp_path):
    from packetnetworking import renderers
    from packetnetworking.builder import DistroBuilder

    for name in renderers.MODULES:
        family = next(b for b in DistroBuilder.registry if name in b.accepted_renderers)
        rootfs = tmp_path / name
        rootfs.mkdir()
        env = dict(os.environ, PYTHONPATH=str(REPO))
        probe = textwrap.dedent(f"""\
            import json, sys
            from packetnetworking import document, nics
            from packetnetworking.run import Builder
            meta = document.loads(open({str(EXAMPLES / "metadata.json")!r}, "rb").read())
            found = nics.load_nics_file(open({str(EXAMPLES / "lshw.xml")!r}, "rb").read())
            b = Builder(meta, found, "{family.distros[0]} 99", ["192.0.2.53"],
                        {{"renderer": "{name}"}}).initialize()
            tasks = b.build_tasks({str(rootfs)!r})
            print(json.dumps(sorted(m for m in sys.modules
                                    if m.startswith("packetnetworking.renderers.")
                                    and m.endswith(".builder"))))
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


def test_available_renderers_still_lists_every_accepted_stack_with_its_builders():
    from packetnetworking import renderers
    from packetnetworking.builder import DistroBuilder

    for family in DistroBuilder.registry:
        builder = family.__new__(family)
        available = builder.available_renderers()
        assert list(available) == builder.available_renderer_names()
        for name, classes in available.items():
            assert classes, (family.__name__, name)
            assert classes == list(family.native_renderers.get(name) or renderers.shared_renderer(name))


# --- plugins: entry-point groups and templates shipped next to a plugin's builders ---------
@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


@pytest.mark.parametrize("folder", [None, "pn_plugin-1.0.egg-info"])
def test_declared_plugins_are_found_in_both_groups(site, folder):
    dist = site / (folder or "pn_plugin-1.0.dist-info")
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pn_plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[packetnetworking.hooks]\nmotd = pn_plugin_hooks\n\n"
        "[packetnetworking.distros]\nmydistro = pn_plugin_distro\n")
    assert [e.value for e in hooks.entry_points(hooks.HOOK_ENTRY_POINTS)] == ["pn_plugin_hooks"]
    assert [e.value for e in hooks.entry_points(hooks.DISTRO_ENTRY_POINTS)] == [
        "pn_plugin_distro"]


def test_templates_of_a_plugin_package_load(site):
    package = site / "pn_plain_templates"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "templates" / "t.j2").write_text("# {{ header }}\nvalue={{ value }}\n")
    try:
        assert templating.render("pn_plain_templates:t.j2", value=1) == (
            f"# {templating.HEADER}\nvalue=1\n")
        with pytest.raises(jinja2.TemplateNotFound):
            templating.render("pn_plain_templates:../__init__.py")
    finally:
        sys.modules.pop("pn_plain_templates", None)


def test_templates_of_a_zipped_package_still_load(tmp_path, monkeypatch):
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pn_zipped_templates/__init__.py", "")
        z.writestr("pn_zipped_templates/templates/z.j2", "zipped={{ value }}\n")
    monkeypatch.syspath_prepend(str(archive))
    try:
        assert templating.render("pn_zipped_templates:z.j2", value=6) == "zipped=6\n"
        with pytest.raises(jinja2.TemplateNotFound):
            templating.render("pn_zipped_templates:missing.j2")
        with pytest.raises(jinja2.TemplateNotFound):
            templating.render("packetnetworking.distros.redhat:missing.j2")
    finally:
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
