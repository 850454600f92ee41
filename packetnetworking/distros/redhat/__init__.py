"""The RedHat family: CentOS, RHEL, Scientific, Rocky, AlmaLinux, Fedora."""
from packetnetworking.distros.redhat.builder import RedHatBuilder  # noqa: F401
