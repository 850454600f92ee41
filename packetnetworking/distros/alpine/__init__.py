"""The Alpine family: ifupdown-ng, NIC names pinned with mdev and nameif."""
from packetnetworking.distros.alpine.builder import AlpineBuilder  # noqa: F401
