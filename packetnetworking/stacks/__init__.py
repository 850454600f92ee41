"""Network stacks shared by several families: netplan, NetworkManager keyfiles,
systemd-networkd. Each lives once here; families name them in ``accepted_stacks``.

A run imports only the stack it writes (``shared_stack``): the others' modules
are not needed to know that they exist.
"""
import importlib

#: Shared stack name -> the module whose ``BUILDERS`` lists its NetworkBuilders.
MODULES = {
    "netplan": "packetnetworking.stacks.netplan",
    "networkmanager": "packetnetworking.stacks.networkmanager",
    "networkd": "packetnetworking.stacks.networkd",
}


def shared_stack(name):
    """``[NetworkBuilder classes]`` of one shared stack (imports only it); [] if unknown."""
    module = MODULES.get(name)
    return list(importlib.import_module(module).BUILDERS) if module else []


def shared_stacks():
    """``{stack name: [NetworkBuilder classes]}`` for the shared stacks (imports them all)."""
    return {name: shared_stack(name) for name in MODULES}
