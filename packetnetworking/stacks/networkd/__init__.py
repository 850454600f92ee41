"""The systemd-networkd stack, shared by every family that runs systemd-networkd."""
from packetnetworking.stacks.networkd.builder import (  # noqa: F401
    BUILDERS, NetworkdBuilder, NetworkManagerUnmanagedBuilder)
