"""The SUSE family: openSUSE Leap and SLES, configured for wicked."""
from packetnetworking.distros.suse.builder import SuseBuilder  # noqa: F401
