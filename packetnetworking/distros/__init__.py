"""Built-in distro families: importing this module registers their DistroBuilders.

A family is a folder: ``builder.py`` (DistroBuilder + NetworkBuilders) and
``templates/*.j2`` (one template per output file).
"""
from packetnetworking.distros import redhat  # noqa: F401
