"""Network stacks shared by several families: netplan, NetworkManager keyfiles,
systemd-networkd. Each lives once here; families name them in ``accepted_stacks``.
"""


def shared_stacks():
    """``{stack name: [NetworkBuilder classes]}`` for the shared stacks."""
    from packetnetworking.stacks import netplan, networkd, networkmanager
    stacks = {}
    stacks["netplan"] = list(netplan.BUILDERS)
    stacks["networkmanager"] = list(networkmanager.BUILDERS)
    stacks["networkd"] = list(networkd.BUILDERS)
    return stacks
