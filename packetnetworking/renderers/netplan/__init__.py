"""The ``netplan`` renderer, for every family that runs netplan: ``builder.py`` writes
its file, ``foreign.py`` says what netplan reads (every run consults it)."""
NAME = "netplan"
