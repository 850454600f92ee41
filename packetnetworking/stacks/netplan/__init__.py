"""The netplan stack, shared by every family that runs netplan."""
from packetnetworking.stacks.netplan.builder import (  # noqa: F401
    BUILDERS, CloudInitNetworkOffBuilder, NetplanBuilder)
