"""The ``networkd`` renderer, for every family that runs systemd-networkd:
``builder.py`` writes its files, ``foreign.py`` says what networkd reads and runs
(every run consults it), ``devices.py`` what each device does."""
NAME = "networkd"
