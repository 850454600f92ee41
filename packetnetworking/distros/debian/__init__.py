"""The Debian family: Debian and Ubuntu (ifupdown's /etc/network/interfaces)."""
from packetnetworking.distros.debian.builder import DebianBuilder, UbuntuBuilder  # noqa: F401
