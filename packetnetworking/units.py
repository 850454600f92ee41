"""Enable the chosen stack's systemd units inside the target, as ``systemctl enable`` does.

systemd enables a unit by symlinks in ``etc/systemd/system``: one in
``<target>.wants/`` (``.requires/``) for each ``WantedBy=`` (``RequiredBy=``)
of the unit's ``[Install]`` section, one named after each ``Alias=``, and the
units named in ``Also=`` are enabled the same way. Each link points at the
unit file where the target has it: ``/etc/systemd/system/UNIT`` (an
administrator's copy), else ``/lib/systemd/system/UNIT`` or
``/usr/lib/systemd/system/UNIT`` (the one reached without a symlink on the
way: on a usr-merged root, where ``lib`` leads to ``usr/lib``, the latter).

- a unit the target does not have is skipped (INFO): there is nothing to enable;
- a masked unit (``etc/systemd/system/UNIT`` -> ``/dev/null``) gets a WARNING
  and stays masked: the administrator decided;
- a unit that is already enabled (one of its links exists and an earlier run of
  this tool did not make it, or the distribution ships it enabled in its own
  ``lib/systemd/system/<target>.wants/``) is left as it is, ``Also=`` units included;
- a unit file without an ``[Install]`` section gets the links its stack names
  (``Unit.wanted_by``); template units (``name@.service``) are not enabled.

The links are ``Task(symlink=...)``: the writer makes them with the run's other
changes, all or nothing; the manifest records them, so a later run that
chooses another stack removes them again.
"""
import logging

from packetnetworking.ownership import ini_sections
from packetnetworking.tasks import Task

log = logging.getLogger(__name__)

SYSTEM_CONFIG = "etc/systemd/system"
#: Where packages install unit files, in the order they are looked for.
UNIT_DIRS = ("lib/systemd/system", "usr/lib/systemd/system")
MASK = "/dev/null"


def unit_file(target, name):
    """``(path relative to the root, masked)`` of unit ``name``; path None when absent."""
    configured = f"{SYSTEM_CONFIG}/{name}"
    link = target.readlink(configured)
    if link is not None and link.rstrip("/") == MASK:
        return None, True
    if link is None and target.exists(configured):
        return configured, False
    found = [f"{directory}/{name}" for directory in UNIT_DIRS
             if target.exists(f"{directory}/{name}")]
    direct = [path for path in found if target.resolved(path) == path]
    chosen = (direct or found or [None])[0]
    return chosen, False


def install_links(target, path, name, fallback=()):
    """``(links, also)``: link paths (relative to the root) enabling unit ``name`` read
    from ``path``, and the units its ``Also=`` names."""
    wanted, required, aliases, also = [], [], [], []
    lists = {"WantedBy": wanted, "RequiredBy": required, "Alias": aliases, "Also": also}
    for section, key, value in ini_sections(target.read(path) or ""):
        if section == "Install" and key in lists:
            lists[key].extend(value.split())
    if not (wanted or required or aliases):
        wanted = list(fallback)
    links = [f"{SYSTEM_CONFIG}/{t}.wants/{name}" for t in wanted]
    links += [f"{SYSTEM_CONFIG}/{t}.requires/{name}" for t in required]
    links += [f"{SYSTEM_CONFIG}/{alias}" for alias in aliases if alias != name]
    return list(dict.fromkeys(links)), also


def _vendor_enabled(target, links):
    """The ``.wants/`` links of ``links`` that the distribution ships in its own unit
    directories (Flatcar enables systemd-networkd there)."""
    found = []
    for link in links:
        relative = link[len(SYSTEM_CONFIG) + 1:]
        if "/" in relative:  # a .wants/ or .requires/ link, not an alias
            found += [f"{d}/{relative}" for d in UNIT_DIRS if target.lexists(f"{d}/{relative}")]
    return found


def enable(units, target, ours=()):
    """``{link path: Task(symlink=...)}`` enabling ``units`` (``ownership.Unit``) in
    ``target``; ``ours``: links an earlier run of this tool made (they are made
    again, so the manifest keeps them)."""
    ours = set(ours)
    tasks = {}
    queue = [(unit.name, tuple(unit.wanted_by), True) for unit in units]
    seen = set()
    while queue:
        name, fallback, asked = queue.pop(0)
        if name in seen or "@" in name:
            continue
        seen.add(name)
        path, masked = unit_file(target, name)
        if masked:
            (log.warning if asked else log.info)(
                "%s is masked in the target (%s/%s -> %s): left masked, so it will not "
                "start at boot", name, SYSTEM_CONFIG, name, MASK)
            continue
        if path is None:
            log.info("%s is not installed in the target: nothing to enable", name)
            continue
        links, also = install_links(target, path, name, fallback)
        present = [link for link in links if target.lexists(link)]
        vendor = _vendor_enabled(target, links)
        if vendor or any(link not in ours for link in present):
            log.debug("%s is already enabled in the target (%s)", name, (vendor or present)[0])
            continue
        for link in links:
            tasks[link] = Task(symlink=f"/{path}")
            if link not in present:
                log.info("%s -> /%s: enables %s", link, path, name)
        queue.extend((unit, (), False) for unit in also)
    return tasks
