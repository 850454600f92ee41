"""The ``networkmanager`` renderer (NetworkManager keyfiles), for every family that runs
NetworkManager: ``builder.py`` writes its keyfiles, ``foreign.py`` says what
NetworkManager reads and runs (every run consults it)."""
NAME = "networkmanager"

#: What tells NetworkManager is installed in the target root.
MARKERS = ("usr/sbin/NetworkManager", "sbin/NetworkManager", "etc/NetworkManager")
