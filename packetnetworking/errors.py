"""One error type per failure a user can cause or meet, each with its exit code.

The CLI turns any of these into a one-line message and the exit code below;
anything else escaping is a bug and is reported as such.
"""

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NO_METADATA_SOURCE = 10
EXIT_UNSUPPORTED_OS = 20
EXIT_NOTHING_TO_WRITE = 30
EXIT_BAD_METADATA = 40
EXIT_NIC = 50
EXIT_WRITE = 60
EXIT_INTERNAL = 70


class PacketNetworkingError(Exception):
    """Base class: ``str(err)`` is the one-line message shown to the user."""

    exit_code = EXIT_INTERNAL
    hint = ""

    def __init__(self, message, hint=None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def one_line(self):
        text = str(self)
        if self.hint:
            text = f"{text}; {self.hint}"
        return " ".join(text.split())


class UsageError(PacketNetworkingError):
    exit_code = EXIT_USAGE
    hint = "see --help"


class NoMetadataSource(PacketNetworkingError):
    exit_code = EXIT_NO_METADATA_SOURCE
    hint = "pass -M FILE or --metadata-url URL"


class UnsupportedOS(PacketNetworkingError):
    exit_code = EXIT_UNSUPPORTED_OS


class NothingToWrite(PacketNetworkingError):
    exit_code = EXIT_NOTHING_TO_WRITE


class MetadataError(PacketNetworkingError):
    """The metadata document is invalid (names the field) or could not be read."""

    exit_code = EXIT_BAD_METADATA


class MetadataUnreachable(MetadataError):
    hint = "check --metadata-url and the network, or pass -M FILE"


class NICError(PacketNetworkingError):
    """NIC discovery failed or no metadata interface matches a NIC."""

    exit_code = EXIT_NIC


class TargetError(PacketNetworkingError):
    """The target root could not be written; it was left as it was."""

    exit_code = EXIT_WRITE
