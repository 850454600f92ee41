"""The NetworkManager keyfile stack, shared by every family that runs NetworkManager."""
from packetnetworking.stacks.networkmanager.builder import (  # noqa: F401
    BUILDERS, KeyfileBondsBuilder, KeyfileInterfacesBuilder)
