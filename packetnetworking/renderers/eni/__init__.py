"""The ``eni`` renderer: ifupdown's ``/etc/network/interfaces``, for the Debian family
(Debian's ifupdown with ifenslave) and Alpine (ifupdown-ng).

``devices.py`` decides what the file holds (one ordered list of stanzas),
``builder.py`` writes it in either dialect (``templates/interfaces.j2`` for
Debian, ``templates/interfaces-ng.j2`` for ifupdown-ng), ``foreign.py`` says what
ifupdown reads and how its files step aside for another renderer.
"""
NAME = "eni"

#: ifupdown's ``ifup``: the program that tells ifupdown is installed (relative to the
#: target root; TargetRoot follows symlinks inside the root, so ``sbin/ifup`` also
#: finds a usr-merged ``usr/sbin/ifup``).
MARKERS = ("sbin/ifup", "usr/sbin/ifup")
