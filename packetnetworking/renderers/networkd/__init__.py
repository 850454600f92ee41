"""The ``networkd`` renderer, for every family that runs systemd-networkd:
``builder.py`` writes its files, ``foreign.py`` says what networkd reads and runs
(every run consults it), ``devices.py`` what each device does."""
NAME = "networkd"

#: systemd-networkd ships with systemd wherever systemd runs: installed says nothing,
#: so what tells networkd runs is its units enabled in the target root.
MARKERS = (
    "etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
    "etc/systemd/system/sockets.target.wants/systemd-networkd.socket",
    "etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service",
)
