"""The ``ifcfg-rh`` renderer: the RedHat family's ``etc/sysconfig/network-scripts``
files, read by the legacy network-scripts and by NetworkManager's ifcfg-rh plugin.

``builder.py`` writes them (``templates/ifcfg-bond.j2`` is a bond's file),
``foreign.py`` says which files ifcfg-rh reads and how they step aside.
"""
NAME = "ifcfg-rh"
