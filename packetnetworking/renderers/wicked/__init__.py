"""The ``wicked`` renderer: SUSE's ifcfg files under ``etc/sysconfig/network``, read by
wicked (openSUSE Leap 15 and older, SLES 12 and 15).

``builder.py`` writes them, ``foreign.py`` says which files wicked reads and how
they step aside.
"""
NAME = "wicked"

#: What tells wicked is installed in the target root.
MARKERS = ("usr/sbin/wicked", "sbin/wicked")
