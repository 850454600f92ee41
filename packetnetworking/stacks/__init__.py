"""Network stacks shared by several families: netplan, NetworkManager keyfiles,
systemd-networkd. Each lives once here; families name them in ``accepted_stacks``.
"""


def shared_stacks():
    """``{stack name: [NetworkBuilder classes]}`` for the shared stacks."""
    from packetnetworking.stacks import networkmanager
    stacks = {}
    stacks["networkmanager"] = list(networkmanager.BUILDERS)
    return stacks
