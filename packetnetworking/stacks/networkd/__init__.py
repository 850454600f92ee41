"""The systemd-networkd stack, shared by every family that runs systemd-networkd."""
from packetnetworking.stacks.networkd.builder import BUILDERS, NetworkdBuilder  # noqa: F401
