"""Built-in distro families: importing this module registers their DistroBuilders.

A family is a folder: ``builder.py`` (DistroBuilder + NetworkBuilders) and
``templates/*.j2`` (one template per output file).
"""
from packetnetworking.distros import redhat  # noqa: F401
from packetnetworking.distros import suse  # noqa: F401
from packetnetworking.distros import debian  # noqa: F401
from packetnetworking.distros import alpine  # noqa: F401
from packetnetworking.distros import flatcar  # noqa: F401
