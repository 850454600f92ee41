"""The examples of docs/extending.md work as written: a third-party distro builder with
its own network builder and template, and a hook.

The plugin is put together from the page itself: every ``python`` block whose first
line is ``# mydistro/builder.py`` goes into that module, the ``jinja`` block is its
template; a change to the page that breaks an example fails here.
"""
import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from packetnetworking import builder as builder_mod
from packetnetworking import cli
from packetnetworking.hooks import BuilderHook

METADATA = {
    "hostname": "ext-01",
    "plan": "m3.large.x86",
    "network": {
        "bonding": {"mode": 4, "link_aggregation": "bonded", "mac": "0c:c4:7a:00:00:10"},
        "interfaces": [
            {"name": "eth0", "mac": "0c:c4:7a:00:00:10", "bond": "bond0"},
            {"name": "eth1", "mac": "0c:c4:7a:00:00:11", "bond": "bond0"},
        ],
        "addresses": [
            {"address_family": 4, "public": True, "management": True, "address": "192.0.2.5",
             "cidr": 31, "gateway": "192.0.2.4"},
        ],
    },
}
PAGE = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def page_blocks(language):
    """The code blocks of docs/extending.md in ``language``, in page order."""
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


NICS = [{"name": "enp1s0f0", "mac": "0c:c4:7a:00:00:10", "logical_name": "eth0"},
        {"name": "enp1s0f1", "mac": "0c:c4:7a:00:00:11", "logical_name": "eth1"}]


@pytest.fixture
def mydistro(tmp_path, monkeypatch):
    pkg = tmp_path / "plugins" / "mydistro"
    (pkg / "templates").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "templates" / "motd.j2").write_text(page_blocks("jinja")[0])
    modules = [b for b in page_blocks("python") if b.startswith("# mydistro/builder.py\n")]
    assert len(modules) == 3, "the page's network builder, distro builder and hook"
    (pkg / "builder.py").write_text("\n".join(modules))
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    registry_before = list(builder_mod.DistroBuilder.registry)
    hooks_before = list(BuilderHook.registry)
    module = importlib.import_module("mydistro.builder")
    yield module
    builder_mod.DistroBuilder.registry[:] = registry_before
    BuilderHook.registry[:] = hooks_before
    for name in [m for m in sys.modules if m == "mydistro" or m.startswith("mydistro.")]:
        del sys.modules[name]


def test_readme_distro_builder_network_builder_and_hook(mydistro, tmp_path, capsys):
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(METADATA))
    nics = tmp_path / "nics.json"
    nics.write_text(json.dumps(NICS))
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "issue.net").write_text("old banner\n")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["-M", str(meta), "--nics-file", str(nics), "-o", "mydistro 1", "-t", str(root),
                  "--resolvers", "192.0.2.53"])
    assert exit_info.value.code == 0
    assert (root / "etc" / "motd").read_text() == "Welcome to ext-01 (192.0.2.5/31 on bond0)\n"
    assert not (root / "etc" / "issue.net").exists()
    assert (root / "etc" / "hostname").read_text() == "ext-01\n"
    out = capsys.readouterr().out
    assert f"files changed in {root}" in out


def test_hook_renames_interfaces_to_kernel_names(mydistro, tmp_path):
    from packetnetworking import metadata, nics
    from packetnetworking.run import Builder

    meta = metadata.parse(METADATA)
    found = nics.parse_json(NICS)
    b = Builder(meta, found, "mydistro 1", ["192.0.2.53"]).initialize()
    assert [i.name for i in b.network.interfaces] == ["eth0", "eth1"]


def _model(dhcp=False, link="bonded"):
    from packetnetworking import metadata, nics
    from packetnetworking.run import Builder

    doc = json.loads(json.dumps(METADATA))
    doc["network"]["bonding"]["link_aggregation"] = link
    if dhcp:
        doc["network"]["interfaces"][0]["dhcp"] = True
    return Builder(metadata.parse(doc), nics.parse_json(NICS), "mydistro 1").initialize().network


def test_page_network_builder_applies_to_static_servers_only(mydistro):
    """The page's ``applies()``: the motd is written for static addresses, not with DHCP."""
    assert mydistro.MotdBuilder(_model()).build() != {}
    assert mydistro.MotdBuilder(_model(link="individual")).build() != {}
    assert mydistro.MotdBuilder(_model(dhcp=True)).build() == {}


@pytest.mark.parametrize("dhcp, link, word", [(False, "bonded", "bonded"),
                                               (False, "individual", "individual"),
                                               (True, "bonded", "dhcp"),
                                               (True, "individual", "dhcp")])
def test_older_layouts_attribute_still_selects_the_servers_served(dhcp, link, word):
    """A plugin written with ``layouts = (...)`` keeps working: one word per server."""
    from packetnetworking.builder import NetworkBuilder

    class Old(NetworkBuilder):
        layouts = (word,)

        def build_tasks(self):
            self.tasks["etc/old"] = "old.j2"

    others = {"bonded", "individual", "dhcp"} - {word}
    network = _model(dhcp, link)
    assert set(Old(network).build()) == {"etc/old"}
    Old.layouts = tuple(others)
    assert Old(network).build() == {}
