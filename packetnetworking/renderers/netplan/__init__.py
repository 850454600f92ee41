"""The ``netplan`` renderer, for every family that runs netplan: ``builder.py`` writes
its file, ``foreign.py`` says what netplan reads (every run consults it)."""
NAME = "netplan"

#: What tells netplan is installed in the target root: its program, its generator, its folder.
MARKERS = ("usr/sbin/netplan", "sbin/netplan", "usr/lib/netplan/generate",
           "lib/netplan/generate", "usr/libexec/netplan/generate", "etc/netplan")
