"""The ``ifcfg-rh`` renderer: the RedHat family's ``etc/sysconfig/network-scripts``
files, read by the legacy network-scripts and by NetworkManager's ifcfg-rh plugin.

``builder.py`` writes them (``templates/ifcfg-bond.j2`` is a bond's file),
``foreign.py`` says which files ifcfg-rh reads and how they step aside.
"""
NAME = "ifcfg-rh"

#: What tells the legacy network-scripts (initscripts on 7, the network-scripts package
#: on 8), which run these files, are installed in the target root.
MARKERS = ("etc/sysconfig/network-scripts/ifup-eth", "etc/rc.d/init.d/network",
           "etc/init.d/network")
SCRIPTS_DIR = "etc/sysconfig/network-scripts"


def network_scripts(target):
    """The marker telling the legacy network-scripts are installed in ``target`` (a
    TargetRoot): one of ``MARKERS``, or an ``ifup`` beside their folder; else None.

    NetworkManager's ``ifup`` wrapper (NetworkManager-initscripts-updown) calls nmcli:
    that one does not count.
    """
    found = next((marker for marker in MARKERS if target.exists(marker)), None)
    if found:
        return found
    if not target.is_dir(SCRIPTS_DIR):
        return None
    for ifup in ("usr/sbin/ifup", "sbin/ifup"):
        text = target.read(ifup)
        if text is not None and "nmcli" not in text:
            return f"{SCRIPTS_DIR}/ with {ifup}"
    return None
