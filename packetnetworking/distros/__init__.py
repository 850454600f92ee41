"""The registry of distro families: find the DistroBuilder for a distro, load the
built-in families and the entry-point plugins, list them.

A family is a folder: ``builder.py`` (its DistroBuilder: releases, which
renderer, host files, name pinning) and ``templates/*.j2`` for the files only it
writes; the renderers' files are built in ``packetnetworking/renderers``.

A run imports only the family that serves its distro: ``FAMILIES`` maps each
built-in family (a subpackage of this one) to the distro names it serves (from
the one table of distros, ``packetnetworking.releases.DISTROS``), and ``find``
imports the one it needs (every family only on the "no builder" error path, to
list them all). A test checks the table against each family's ``distros``.
"""
import importlib

from packetnetworking import hooks, renderers
from packetnetworking.builder import DistroBuilder
from packetnetworking.errors import UnsupportedOS
from packetnetworking.releases import families, list_lines, summary

FAMILIES = families()

# Built-in families register at this place of DistroBuilder.registry whenever they are
# imported: where importing every family here used to put them.
DistroBuilder._builtin_slot = len(DistroBuilder.registry)
# Families reach the renderers through this (builder.py sits below them).
DistroBuilder.renderers = renderers

_plugins_loaded = False


def load_family(distro):
    """Import the built-in families serving ``distro`` (``"*"``: the catch-alls)."""
    for family, names in FAMILIES.items():
        if distro in names:
            importlib.import_module(f"{__name__}.{family}")


def load_plugins():
    """Import the plugins of the ``packetnetworking.distros`` entry-point group, once."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for entry in hooks.entry_points(hooks.DISTRO_ENTRY_POINTS):
            entry.load()


def load_all():
    """Import every built-in family and the plugins."""
    load_plugins()
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")


def find(distro):
    """The last registered DistroBuilder serving ``distro``, else the last catch-all;
    built-in families rank below plugins and later definitions."""
    load_plugins()
    load_family(distro)  # only the family that can serve this distro
    registry = DistroBuilder.registry
    for builder in reversed(registry):
        if distro in builder.distros:
            return builder
    load_family("*")
    for builder in reversed(registry):
        if "*" in builder.distros:
            return builder
    load_all()  # every family, to list them all
    raise UnsupportedOS(f"no builder for distro {distro!r} (supported: "
                        f"{supported_summary(registry)})",
                        "pass -o 'DISTRO VERSION' with one of them")


def supported_summary(registry):
    """Every distro name the registered builders serve: the built-in table's (each
    with its other names), then those only plugins serve."""
    known = {name for family in families().values() for name in family}
    extra = sorted({d for b in registry for d in b.distros if d != "*"} - known)
    return summary() + "".join(f", {name}" for name in extra)


def list_distros():
    """``--list-distros``: the built-in table, then what plugins add."""
    load_all()
    known = {name for family in families().values() for name in family}
    lines = list_lines()
    for builder in DistroBuilder.registry:
        for name in builder.distros:
            if name != "*" and name not in known:
                known.add(name)
                lines.append(f"{name}  (plugin {builder.__module__}.{builder.__qualname__})")
    return lines
