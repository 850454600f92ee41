"""Network stacks shared by several families: netplan, NetworkManager keyfiles,
systemd-networkd. Each lives once here; families name them in ``accepted_stacks``.

Each stack's package also holds its ``CONFIG`` (a ``StackConfig``: the files it
reads, how they name devices, the units that run it; see ownership.py), which
every run consults whether or not it writes that stack: the image may carry it.
cloud-init, which writes those stacks' files at boot, has one too.

A run imports the builders of the stack it writes only (``shared_stack``); it
reads every stack's ``foreign.py`` (``shared_configs``).
"""
import importlib

#: Shared stack name -> its package: ``builder.BUILDERS`` lists its NetworkBuilders,
#: ``foreign.CONFIG`` is its StackConfig.
MODULES = {
    "netplan": "packetnetworking.stacks.netplan",
    "networkmanager": "packetnetworking.stacks.networkmanager",
    "networkd": "packetnetworking.stacks.networkd",
}


def shared_stack(name):
    """``[NetworkBuilder classes]`` of one shared stack (imports only it); [] if unknown."""
    module = MODULES.get(name)
    return list(importlib.import_module(f"{module}.builder").BUILDERS) if module else []


def shared_stacks():
    """``{stack name: [NetworkBuilder classes]}`` for the shared stacks (imports them all)."""
    return {name: shared_stack(name) for name in MODULES}


def shared_configs():
    """The ``StackConfig`` of cloud-init and of every shared stack."""
    from packetnetworking.stacks.cloudinit import CLOUD_INIT

    return [CLOUD_INIT] + [importlib.import_module(f"{module}.foreign").CONFIG
                           for module in MODULES.values()]
