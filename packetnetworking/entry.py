"""The program's entry point (console script and ``python -m packetnetworking``).

Ctrl-C may come at any moment: while the CLI and its libraries are still being
imported, while the run ends, while this says it was interrupted. This module
imports nothing but ``sys`` before its ``try``; any Ctrl-C is one line (none with
``-q``) and exit 130, never a traceback, and once the run has decided how it ends
(an exit code, a message said) later ones change nothing.
"""
import sys

INTERRUPTED = 130


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    code, say, ending = None, False, None
    for _ in range(100):  # each turn needs one more Ctrl-C landing in this function
        try:
            if code is None:
                code = _run(argv)
            if isinstance(ending, SystemExit):  # the run was already ending, having said why
                code, say, ending = ending.code, False, None
            if say:
                say = False
                if not _quiet(args):
                    sys.stderr.write("packet-networking: error: interrupted\n")
                    sys.stderr.flush()
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process ends now
            break
        except KeyboardInterrupt as exc:
            if code is None:  # no call in here: a further Ctrl-C cannot land before the loop
                code, say, ending = INTERRUPTED, True, exc.__context__
    sys.exit(code)


def _run(argv):
    from packetnetworking import cli

    try:
        cli.main(argv)
    except SystemExit as exc:
        return exc.code
    return 0


def _quiet(argv):
    """-q or --quiet, alone or in a cluster of flags (``-vq``), before ``--`` (as cli._flags)."""
    for arg in argv:
        if arg == "--":
            break
        if arg == "--quiet":
            return True
        if arg.startswith("-") and not arg.startswith("--"):
            cluster = arg[1:]
            if "q" in cluster[:len(cluster) - len(cluster.lstrip("vq"))]:
                return True
    return False
