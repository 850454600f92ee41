"""Built-in distro families.

A family is a folder: ``builder.py`` (DistroBuilder + NetworkBuilders) and
``templates/*.j2`` (one template per output file).

A run imports only the family that serves its distro: ``FAMILIES`` maps each
built-in family (a subpackage of this one) to the distro names it serves (from
the one table of distros, ``packetnetworking.releases.DISTROS``), and
``DistroBuilder.find`` imports the one it needs (every family only on the
"no builder" error path, to list them all). A test checks the table against
each family's ``distros``. A family imported here directly is registered as
soon as this package is imported, which also works (at the cost of its import
time on every run).
"""
import importlib

from packetnetworking.builder import DistroBuilder
from packetnetworking.releases import families

FAMILIES = families()

# Built-in families register at this place of DistroBuilder.registry whenever they are
# imported: where importing every family here used to put them.
DistroBuilder._builtin_slot = len(DistroBuilder.registry)


def load_family(distro):
    """Import the built-in families serving ``distro`` (``"*"``: the catch-alls)."""
    for family, names in FAMILIES.items():
        if distro in names:
            importlib.import_module(f"{__name__}.{family}")


def load_all():
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
