"""A run imports only the built-in family that serves its distro, and finding a
builder still behaves as when every family was imported up front: plugins (entry
points) override built-ins, an exact name beats a catch-all, and an unknown distro
lists every supported one."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from packetnetworking import distros as builtin
from packetnetworking.builder import DistroBuilder

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def test_the_family_table_matches_every_built_in_family():
    builtin.load_all()
    served = {}
    for cls in DistroBuilder.registry:
        module = cls.__module__
        if module.startswith("packetnetworking.distros."):
            served.setdefault(module.split(".")[2], set()).update(cls.distros)
    assert served == {family: set(names) for family, names in builtin.FAMILIES.items()}
    names = [n for family_names in builtin.FAMILIES.values() for n in family_names]
    assert len(names) == len(set(names)), "a distro is served by two built-in families"


def _run(tmp_path, distro, site=None, code=None):
    rootfs = tmp_path / "root"
    rootfs.mkdir(exist_ok=True)
    probe = code or textwrap.dedent("""\
        import json, sys
        from packetnetworking import cli
        try:
            cli.main(sys.argv[1:])
        except SystemExit as exc:
            code = exc.code
        from packetnetworking.builder import DistroBuilder
        print(json.dumps({"code": code,
                          "families": sorted({m.split(".")[2] for m in sys.modules
                                              if m.startswith("packetnetworking.distros.")
                                              and m.count(".") >= 2})}))
        """)
    path = [str(REPO)] + ([str(site)] if site else [])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    out = subprocess.run([sys.executable, "-c", probe, "-M", str(EXAMPLES / "metadata.json"),
                          "--nics-file", str(EXAMPLES / "lshw.xml"), "-o", f"{distro} 7",
                          "-t", str(rootfs), "--resolvers", "192.0.2.53"],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path),
                         timeout=120)
    return out


@pytest.mark.parametrize("distro, family", [("centos", "redhat"), ("sles", "suse"),
                                            ("ubuntu", "debian"), ("flatcar", "flatcar")])
def test_a_run_imports_only_the_family_serving_its_distro(tmp_path, distro, family):
    out = _run(tmp_path, distro)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None), out.stderr
    assert set(result["families"]) - {"common"} == {family}
    assert (tmp_path / "root" / "etc" / "hostname").read_text().strip()


def test_an_unknown_distro_still_lists_every_family(tmp_path):
    out = _run(tmp_path, "plan9")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == 20
    assert "no builder for distro 'plan9'" in out.stderr
    for names in builtin.FAMILIES.values():
        for name in names:
            assert name in out.stderr


@pytest.fixture
def plugin_site(tmp_path):
    """A distribution declaring a distro plugin that serves centos and every other distro."""
    site = tmp_path / "site"
    (site / "pn_fam_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "pn_fam_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pn_fam_plugin\nVersion: 1.0\n")
    (site / "pn_fam_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[packetnetworking.distros]\nmine = pn_fam_plugin\n")
    (site / "pn_fam_plugin.py").write_text(textwrap.dedent("""\
        from packetnetworking.builder import DistroBuilder

        class PluginCentos(DistroBuilder):
            distros = ["centos"]

        class PluginAnything(DistroBuilder):
            distros = ["*"]
        """))
    return site


def test_an_entry_point_family_still_overrides_a_built_in_one(tmp_path, plugin_site):
    code = textwrap.dedent("""\
        import json
        from packetnetworking import distros
        print(json.dumps([distros.find(d).__name__
                          for d in ("centos", "ubuntu", "plan9", "rhel")]))
        """)
    out = _run(tmp_path, "centos", site=plugin_site, code=code)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    # centos: the plugin; ubuntu and rhel: the built-in exact name beats the catch-all
    assert found == ["PluginCentos", "UbuntuBuilder", "PluginAnything", "RedHatBuilder"]
