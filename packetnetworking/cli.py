"""Command line: arguments, logging, exit codes. The only place that prints."""
import logging
import os
import sys

import click

from packetnetworking import __version__, errors, nics, renderers, source
from packetnetworking.distros import list_distros
from packetnetworking.run import Builder

log = logging.getLogger(__name__)

#: ``--renderer``: auto, each renderer's name, then the former names still accepted.
RENDERERS = ("auto", *renderers.names(), *renderers.ALIASES)


def _resolvers(ctx, param, value):
    if value is None:
        return None
    try:
        return source.parse_resolvers(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


def _list_distros(ctx, param, value):
    if value and not ctx.resilient_parsing:
        click.echo("\n".join(list_distros()))
        ctx.exit()


# A missing path passes (exists=False): the code that opens it says what is wrong.
@click.command()
@click.option("-M", "--metadata-file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Load metadata from a file ('-' for stdin); preferred over the URL.")
@click.option("--metadata-url", envvar="PACKET_METADATA_URL", default=source.DEFAULT_URL,
              show_default=True, help="Metadata service URL (env PACKET_METADATA_URL).")
@click.option("-o", "--operating-system", "os_option", metavar="'DISTRO VERSION'",
              help="Target OS, e.g. 'centos 7' (see --list-distros); default: the target's "
                   "os-release, else the metadata's. 'DISTRO n/a' takes the version from them.")
@click.option("-t", "--rootfs", required=True, type=click.Path(file_okay=False),
              help="Root filesystem of the target, e.g. /mnt/target.")
@click.option("--resolvers", envvar="PACKET_RESOLVERS", callback=_resolvers,
              help="Comma-separated nameservers (env PACKET_RESOLVERS); default: the "
                   "nameserver lines of this host's /etc/resolv.conf.")
@click.option("-n", "--max-attempts", type=click.IntRange(min=1), default=10, show_default=True,
              help="Attempts to fetch the metadata URL.")
@click.option("--nics-file", type=click.Path(dir_okay=False, allow_dash=True),
              help="Read NICs from a saved `lshw -class network -xml` capture (or lshw -json, "
                   "or a JSON NIC list) instead of discovering them.")
@click.option("--renderer", type=click.Choice(RENDERERS), default="auto", show_default=True,
              help="Renderer (the files of one network stack) to write; auto picks what "
                   "the target runs ('ifcfg': the family's ifcfg-rh or wicked).")
@click.option("--dry-run", is_flag=True,
              help="Print each file's action and a diff against the target; write nothing.")
@click.option("-v", "--verbose", count=True, help="-v INFO, -vv DEBUG (with tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing, errors included.")
@click.option("--list-distros", is_flag=True, expose_value=False, is_eager=True,
              callback=_list_distros,
              help="List the distros -o accepts (with their other names) and exit.")
@click.version_option(__version__, prog_name="packet-networking")
@click.help_option("-h", "--help")
def cli(metadata_file, metadata_url, os_option, rootfs, resolvers, max_attempts, nics_file,
        renderer, dry_run, verbose, quiet):
    """Write this server's network configuration into the target root filesystem.

    Loads the metadata, discovers the NICs (lshw), matches them by MAC and writes
    the files for the target OS's network stack under ROOTFS.
    """
    _check_target(rootfs)
    url_source = click.get_current_context().get_parameter_source("metadata_url")
    meta = source.load(metadata_file, metadata_url, max_attempts,
                       url_given=url_source is not click.core.ParameterSource.DEFAULT)
    if nics_file is not None:
        where = "NIC list from stdin" if nics_file == "-" else f"NIC file {nics_file}"
        found = nics.load_nics_file(_read_nics_file(nics_file), where)
        for nic in found:
            log.info("name=%s driver=%s mac=%s", nic.name, nic.driver or "?", nic.mac)
    else:
        found = nics.discover()
    if resolvers is None:
        resolvers = source.host_resolvers()
    builder = Builder(meta, found, os_option, resolvers, options={"renderer": renderer})
    builder.initialize(rootfs)
    result = builder.run(rootfs, dry_run=dry_run)
    _release_warnings()  # the run succeeded: the warnings it held back are shown now
    if quiet:
        return
    if dry_run:
        for change in result.changed:  # only real changes
            click.echo(f"{change.action:9} {change.path}")
            click.echo(change.diff(), nl=False)
    if not result.changed:
        click.echo(f"Configuration in root filesystem '{rootfs}' already up to date "
                   f"({len(result.unchanged)} files unchanged)")
    elif not dry_run:
        click.echo(f"Configuration files written to root filesystem '{rootfs}'")


def _check_target(rootfs):
    """The operator's slips: ``-t /`` (or any path to this system's own root) would
    rewrite the provisioning host's network, refused even with --dry-run; a target
    without an OS in it (an image that was not mounted) is written, with a WARNING."""
    try:
        target, running = os.stat(rootfs), os.stat("/")
    except OSError:
        return  # the writer names what is wrong with it
    if (target.st_dev, target.st_ino) == (running.st_dev, running.st_ino):
        raise errors.UsageError(f"-t {rootfs} is the root filesystem of the system this runs "
                                "on, not a target", "mount the target and pass its directory, "
                                "e.g. -t /mnt/target")
    from packetnetworking.target import TargetRoot

    with TargetRoot(rootfs) as view:
        has_os = view.any("etc/os-release", "usr/lib/os-release")
    if not has_os:
        log.warning("no etc/os-release nor usr/lib/os-release in %s: is the target image "
                    "mounted there? Writing anyway", rootfs)


def _read_nics_file(path):
    try:  # one byte more than the limit is enough to refuse it
        return source.read_limited(path, nics.MAX_CAPTURE_BYTES + 1)
    except OSError as err:
        raise errors.NICError(f"cannot read NIC file {path}: {err.strerror}",
                              "check the --nics-file path") from None


class HeldWarnings(logging.Handler):
    """At the default verbosity warnings wait for the end of the run: shown when it
    succeeds, dropped when it fails, so that a failure prints exactly one line (its
    message says what to fix; -v shows every warning as it happens)."""

    def __init__(self, target):
        super().__init__(logging.WARNING)
        self.target = target
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def show(self):
        records, self.records = self.records, []
        for record in records:
            self.target.handle(record)


def _logging_handler(verbose, quiet):
    """-q: nothing; default: warnings, held until the run ends; -v INFO, -vv DEBUG, live."""
    if quiet:
        return logging.NullHandler(), logging.CRITICAL + 1
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    if verbose == 0:
        return HeldWarnings(stderr), logging.WARNING
    return stderr, logging.INFO if verbose == 1 else logging.DEBUG


def _release_warnings():
    for handler in logging.getLogger().handlers:
        if isinstance(handler, HeldWarnings):
            handler.show()


def _flags(argv):
    """-v count and -q, read before click parses (errors in parsing must obey them)."""
    verbose, quiet = 0, False
    for arg in argv:
        if arg == "--":
            break
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--verbose":
            verbose += 1
        elif arg.startswith("-") and not arg.startswith("--"):
            for letter in arg[1:]:  # a cluster like -vvq or -vvM FILE: flags up to the first other
                if letter == "v":
                    verbose += 1
                elif letter == "q":
                    quiet = True
                else:
                    break
    return verbose, quiet


def main(argv=None):
    """Entry point: run the CLI and turn every failure into one line and an exit code.

    The root logger gets the CLI's handler and level for the run (third-party
    loggers such as urllib3's and plugins' propagate to it) and gets its own back
    afterwards, for a program that calls ``main()`` itself.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose, quiet = _flags(argv)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler, level = _logging_handler(verbose, quiet)
    root.handlers[:] = [handler]
    root.setLevel(level)
    try:
        _run(argv, verbose, quiet)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def _run(argv, verbose, quiet):
    code = errors.EXIT_OK
    try:
        # make_context + invoke rather than cli.main: click's main turns Ctrl-C into
        # Abort after printing a bare newline on stderr, -q or not
        with cli.make_context("packet-networking", argv) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:  # usage errors: one line, exit 2
        message = exc.format_message().replace("\n", " ")
        _fail(f"{message} (see --help)", errors.EXIT_USAGE, quiet, verbose)
    except errors.PacketNetworkingError as exc:
        _fail(exc.one_line(), exc.exit_code, quiet, verbose)
    except KeyboardInterrupt as exc:  # the writer's Interrupted names a deferred signal
        _interrupted(quiet, getattr(exc, "signal_name", "SIGINT"))
    except Exception as exc:  # a bug: still one line, the traceback at -vv
        detail = " ".join(str(exc).split())
        _fail(f"internal error: {type(exc).__name__}: {detail}; please report it with -vv output",
              errors.EXIT_INTERNAL, quiet, verbose)
    _release_warnings()
    sys.exit(code)


def _interrupted(quiet, signal_name="SIGINT"):
    """Ctrl-C (or a deferred SIGTERM, SIGHUP, SIGQUIT): one line, exit 130."""
    if not quiet:
        detail = "" if signal_name == "SIGINT" else f" by {signal_name}"
        sys.stderr.write(f"packet-networking: error: interrupted{detail}\n")
        sys.stderr.flush()
    sys.exit(130)


def _fail(message, code, quiet, verbose):
    if verbose >= 2:
        log.debug("traceback:", exc_info=True)
    if not quiet:
        click.echo(f"packet-networking: error: {message}", err=True)
    sys.exit(code)
