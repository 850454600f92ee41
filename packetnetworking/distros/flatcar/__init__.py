from packetnetworking.distros.flatcar.builder import FlatcarBuilder  # noqa: F401
