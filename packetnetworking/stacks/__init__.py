"""Network stacks shared by several families: netplan, NetworkManager keyfiles,
systemd-networkd. Each lives once here; families name them in ``accepted_stacks``.
"""


def shared_stacks():
    """``{stack name: [NetworkBuilder classes]}`` for the shared stacks."""
    return {}
