"""One table of scenarios for the checks every family and renderer must pass alike.

A row is a metadata document (a ``stack_cases`` layout), the OS the operator names,
the ``--renderer`` and what a user checks on the files that run writes. The checks
themselves live in ``tests/test_scenarios.py``; a family module keeps only what is
its own (its keys, its quirks). Adding a family = adding its rows here.
"""
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import pytest

from packetnetworking import metadata as md
from packetnetworking.nics import NIC
from packetnetworking.run import Builder

from support.helpers import DOCUMENTS, REFUSED_DOCUMENTS, load_document
from support.stack_cases import CASES, MACS, NAMES, RESOLVERS, document

#: The layouts, by name: ``(metadata dict, number of NICs the machine reports)``.
LAYOUTS = {name: (doc, count) for name, (doc, count, _) in CASES.items()}
# DHCP on one member of a bond whose document still lists static addresses.
LAYOUTS["dhcp-first-member"] = (document(dhcp=(0,)), 2)
# The machine has a NIC the metadata does not list (ifupdown families name and pin it).
LAYOUTS["bonded-spare-nic"] = (document(), 3)

# What a user checks (the names test_scenarios.py dispatches on).
IDENTICAL = "two runs into fresh roots write the same files, byte for byte"
RERUN = "a second run over the same root changes nothing"
TIDY = "every file ends in one newline, has no blank runs and starts with the header"
SOURCED = "bash sources the KEY=value files to exactly what the parser reads"


@dataclass(frozen=True)
class Scenario:
    layout: str                  # a LAYOUTS name
    os_name: str                 # what the operator passes with -o
    renderer: str                # --renderer
    checks: Tuple[str, ...]      # what a user checks (the constants above)
    sourced: Tuple[str, ...] = ()  # with SOURCED: the shell-sourced files (prefixes)

    @property
    def id(self):
        return f"{self.os_name.replace(' ', '-')}-{self.renderer}-{self.layout}"


_IFCFG_RH = ("etc/sysconfig/network-scripts/ifcfg-", "etc/sysconfig/network")
_WICKED = ("etc/sysconfig/network/ifcfg-", "etc/sysconfig/network/config")
#: The layouts the ifupdown families are checked on (every shape their own tests render).
_ENI_LAYOUTS = ("bonded-lacp", "mlag_ha", "bonded-mode5", "two-bonds-interleaved",
                "private-only", "no-ipv6-two-private-subnets", "individual", "dhcp-bonded",
                "dhcp-individual", "bonded-spare-nic")

SCENARIOS = [
    # RedHat, ifcfg-rh (network-scripts source the files with bash at boot)
    *[Scenario(layout, os_name, "auto", (IDENTICAL, RERUN, TIDY, SOURCED), _IFCFG_RH)
      for layout, os_name in [("bonded-lacp", "centos 7"), ("two-bonds-interleaved", "rhel 9"),
                              ("individual", "rocky 8"), ("dhcp-first-member", "alma 9"),
                              ("private-only", "centos 8")]],
    # SUSE, wicked (its ifcfg files and netconfig's config are shell-sourceable)
    *[Scenario(layout, os_name, "auto", (IDENTICAL, RERUN, TIDY, SOURCED), _WICKED)
      for layout, os_name in [("bonded-lacp", "sles 15"), ("two-bonds-interleaved", "opensuse 15"),
                              ("individual", "sles 12"), ("dhcp-first-member", "opensuse 15"),
                              ("private-only", "sles 15")]],
    # Debian/Ubuntu, ifupdown
    *[Scenario(layout, "ubuntu 20.04", "eni", (IDENTICAL,)) for layout in _ENI_LAYOUTS],
    # Alpine, ifupdown-ng
    *[Scenario(layout, "alpine 3.20", "eni", (IDENTICAL,)) for layout in _ENI_LAYOUTS],
]


@dataclass(frozen=True)
class Release:
    """An OS name that must write exactly what another one does."""

    os_name: str      # what the operator passes
    same_as: str      # the release whose files it gets
    renderer: str
    warns: bool       # an unknown version: one WARNING naming it and the rule used

    @property
    def id(self):
        return f"{self.os_name}->{self.same_as}".replace(" ", "-")


RELEASES = [
    # a point release means its major
    Release("alma 9.3", "almalinux 9", "auto", False),
    Release("sles 15.5", "sles 15", "auto", False),
    # an unknown version gets the nearest known rule: the newest below it, or the oldest
    # for an older one. The renderer is forced, or release 10 (16) would get NetworkManager
    # keyfiles, ifcfg-rh (wicked) being gone there.
    *[Release(unknown, nearest, "ifcfg-rh", True)
      for unknown, nearest in [("rocky 11", "rocky 10"), ("centos 6", "centos 7"),
                               ("rhel 11.1", "rhel 10"), ("scientific 8", "scientific 7"),
                               ("centos stream", "centos 10")]],
    *[Release(unknown, nearest, "wicked", True)
      for unknown, nearest in [("sles 11", "sles 12"), ("opensuse 13.2", "opensuse 42"),
                               ("opensuse tumbleweed", "opensuse 16"), ("suse 17", "sles 16")]],
]


def params(rows):
    return [pytest.param(row, id=row.id) for row in rows]


def run(layout, os_name, renderer, root):
    """Run the tool in-process for ``layout`` into ``root``; ``{relpath: text}`` of every
    regular file there afterwards (symlinks left out: the tool does not write them)."""
    doc, count = LAYOUTS[layout]
    nics = [NIC(name=NAMES[i], mac=MACS[i], driver="i40e") for i in range(count)]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    builder = Builder(md.parse(copy.deepcopy(doc)), nics, os_name, list(RESOLVERS),
                      {"renderer": renderer})
    builder.initialize().run(str(root))
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def document_through_cli(tmp_path, name, os_name, nic_name, capsys, extra_args=()):
    """Run the CLI on the real-world document ``name`` (tests/fixtures/documents), its
    interfaces found as NICs called ``nic_name(i)`` (driver i40e), with ``extra_args``.
    A document the tool refuses is checked here (exit 40, one line with its error's
    words, nothing written) and gives None; otherwise ``(document, nics, root)`` for
    the family's own checks."""
    from packetnetworking import cli

    doc = load_document(name)
    nics = [{"name": nic_name(i), "mac": iface["mac"], "driver": "i40e"}
            for i, iface in enumerate(doc["network"]["interfaces"])]
    nics_file = tmp_path / "nics.json"
    nics_file.write_text(json.dumps(nics))
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["-M", str(DOCUMENTS / name), "--nics-file", str(nics_file), "-o", os_name,
                  "-t", str(root), "--resolvers", RESOLVERS[0], *extra_args])
    err = capsys.readouterr().err
    if name in REFUSED_DOCUMENTS:
        assert exit_info.value.code == 40, err
        assert err.count("\n") == 1 and REFUSED_DOCUMENTS[name] in err, err
        assert not any(root.iterdir())
        return None
    assert exit_info.value.code == 0, err
    return doc, nics, root
