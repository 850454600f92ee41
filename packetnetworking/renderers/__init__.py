"""Renderers: one package per output format, named by ``--renderer``.

``eni`` (ifupdown), ``ifcfg_rh`` (RedHat's ifcfg), ``wicked`` (SUSE's ifcfg),
``netplan``, ``networkmanager`` (keyfiles), ``networkd``: each package's
``__init__`` declares its ``NAME`` and its ``MARKERS`` (the files telling its
program is installed in a target root, which the families read to pick the
renderer: ``DistroBuilder.detect_renderer``); its ``builder.py`` holds the
NetworkBuilders that write its files, ``templates/`` their templates,
``foreign.py`` its ``RendererConfig`` (the files the program behind it reads,
how they step aside, its units; see ownership.py). A family names the renderers
it accepts in ``accepted_renderers``; ``eni``, ``ifcfg-rh`` and ``wicked`` are listed with the
family's builders in its ``native_renderers``, the others are shared as they are
(``builder.BUILDERS``). cloud-init is no renderer but writes other renderers'
files at boot: ``cloudinit`` tells it to stop.

A run imports the builders of the renderer it writes only (``shared_renderer``);
it reads every shared renderer's ``foreign.py`` (``shared_configs``).
"""
import importlib

#: The renderer packages, in the order ``--renderer`` lists them.
PACKAGES = ("eni", "ifcfg_rh", "wicked", "netplan", "networkmanager", "networkd")
#: Shared renderer name -> its package (``builder.BUILDERS``, ``foreign.CONFIG``).
MODULES = {
    "netplan": f"{__name__}.netplan",
    "networkmanager": f"{__name__}.networkmanager",
    "networkd": f"{__name__}.networkd",
}
#: Former ``--renderer`` names -> the renderers they stand for; a family takes the
#: one it accepts (RedHat's ifcfg is ``ifcfg-rh``, SUSE's is ``wicked``).
ALIASES = {"ifcfg": ("ifcfg-rh", "wicked")}


def names():
    """Every renderer's name, as its package declares it."""
    return [importlib.import_module(f"{__name__}.{package}").NAME for package in PACKAGES]


def shared_renderer(name):
    """``[NetworkBuilder classes]`` of one shared renderer (imports only it); [] if unknown."""
    module = MODULES.get(name)
    return list(importlib.import_module(f"{module}.builder").BUILDERS) if module else []


def shared_configs():
    """The ``RendererConfig`` of cloud-init and of every shared renderer."""
    from packetnetworking.renderers.cloudinit import CLOUD_INIT

    return [CLOUD_INIT] + [importlib.import_module(f"{module}.foreign").CONFIG
                           for module in MODULES.values()]


def markers(name):
    """The files telling that the program behind renderer ``name`` is installed in a
    target root (its package's ``MARKERS``); () for a renderer of no package here."""
    package = name.replace("-", "_")
    if package not in PACKAGES:
        return ()
    return importlib.import_module(f"{__name__}.{package}").MARKERS


def installed(name, target):
    """The first of renderer ``name``'s markers present in ``target`` (a TargetRoot), or None."""
    return next((marker for marker in markers(name) if target.exists(marker)), None)
