"""Command line: arguments, logging, exit codes. The only place that prints."""
import gc
import os
import stat
import sys

import click

from packetnetworking import __version__, errors, lazylog, source

log = lazylog.get("packetnetworking")

RENDERERS = ("auto", "eni", "ifcfg", "netplan", "networkmanager", "networkd")


def _resolvers(ctx, param, value):
    if value is None:
        return None
    try:
        return source.parse_resolvers(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


class _Command(click.Command):
    def make_parser(self, ctx):
        """Click's parser, with the short options also in its table of long ones.

        Click looks every option up as a long one first. A short one (-M, -o, -t,
        -q) misses, and the miss builds a NoSuchOption whose spelling suggestions
        import difflib and compare the option with every long name: ~3.5 ms of a
        run, for an exception click then discards. In the long table, ``-M FILE``
        is found at once and means what it meant; clusters (``-vvq``) and attached
        values (``-Mfile``) still take click's short-option path. Should a click
        release rename these tables, the parser is left as click made it.
        """
        parser = super().make_parser(ctx)
        longs, shorts = getattr(parser, "_long_opt", None), getattr(parser, "_short_opt", None)
        if isinstance(longs, dict) and isinstance(shorts, dict):
            for name, option in shorts.items():
                longs.setdefault(name, option)
        return parser


# Click's ready-made Path type, --help and --version options look their texts up
# with gettext as the CLI is built and parsed; the first lookup imports locale and
# each one searches for message catalogs: ~2 ms of every run. The three below give
# the same checks, texts and behaviour with plain strings.
class _PathType(click.ParamType):
    """click.Path's checks without its translated names: a file option refuses a
    directory, a directory option refuses a regular file, and an existing path
    must be readable; a missing one is left to the code that opens it."""

    def __init__(self, directory=False, allow_dash=False):
        self.directory = directory
        self.allow_dash = allow_dash
        self.name = "directory" if directory else "file"

    def convert(self, value, param, ctx):
        path = os.fsdecode(value)
        if self.allow_dash and path == "-":
            return path
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return path
        if self.directory and stat.S_ISREG(mode):
            self.fail(f"Directory {path!r} is a file.", param, ctx)
        if not self.directory and stat.S_ISDIR(mode):
            self.fail(f"File {path!r} is a directory.", param, ctx)
        if not os.access(path, os.R_OK):
            self.fail(f"{self.name.title()} {path!r} is not readable.", param, ctx)
        return path


def _show_help(ctx, param, value):
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


def _show_version(ctx, param, value):
    if value and not ctx.resilient_parsing:
        click.echo(f"packet-networking, version {__version__}", color=ctx.color)
        ctx.exit()


def _list_distros(ctx, param, value):
    if value and not ctx.resilient_parsing:
        from packetnetworking.builder import list_distros
        click.echo("\n".join(list_distros()))
        ctx.exit()


@click.command(cls=_Command, add_help_option=False)
@click.option("-M", "--metadata-file", type=_PathType(allow_dash=True),
              help="Load metadata from a file ('-' for stdin); preferred over the URL.")
@click.option("--metadata-url", envvar="PACKET_METADATA_URL", default=source.DEFAULT_URL,
              show_default=True, help="Metadata service URL (env PACKET_METADATA_URL).")
@click.option("-o", "--operating-system", "os_option", metavar="'DISTRO VERSION'",
              help="Target OS, e.g. 'centos 7'; overrides the metadata's. 'n/a' ignores it.")
@click.option("-t", "--rootfs", required=True, type=_PathType(directory=True),
              help="Root filesystem of the target, e.g. /mnt/target.")
@click.option("--resolvers", envvar="PACKET_RESOLVERS", callback=_resolvers,
              help="Comma-separated nameservers (env PACKET_RESOLVERS); default: the "
                   "nameserver lines of this host's /etc/resolv.conf.")
@click.option("-n", "--max-attempts", type=click.IntRange(min=1), default=10, show_default=True,
              help="Attempts to fetch the metadata URL.")
@click.option("--nics-file", type=_PathType(allow_dash=True),
              help="Read NICs from a saved `lshw -class network -xml` capture (or lshw -json, "
                   "or a JSON NIC list) instead of discovering them.")
@click.option("--renderer", type=click.Choice(RENDERERS), default="auto", show_default=True,
              help="Network stack to write for; auto picks what the target runs.")
@click.option("--dry-run", is_flag=True,
              help="Print each file's action and a diff against the target; write nothing.")
@click.option("-v", "--verbose", count=True, help="-v INFO, -vv DEBUG (with tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing, errors included.")
@click.option("--list-distros", is_flag=True, expose_value=False, is_eager=True,
              callback=_list_distros,
              help="List the distros -o accepts (with their other names) and exit.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version, help="Show the version and exit.")
@click.option("-h", "--help", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_help, help="Show this message and exit.")
def cli(metadata_file, metadata_url, os_option, rootfs, resolvers, max_attempts, nics_file,
        renderer, dry_run, verbose, quiet):
    """Write this server's network configuration into the target root filesystem.

    Loads the metadata, discovers the NICs (lshw), matches them by MAC and writes
    the files for the target OS's network stack under ROOTFS.
    """
    from packetnetworking.builder import Builder
    from packetnetworking import nics as nic_discovery

    url_source = click.get_current_context().get_parameter_source("metadata_url")
    meta = source.load(metadata_file, metadata_url, max_attempts,
                       url_given=url_source is not click.core.ParameterSource.DEFAULT)
    if nics_file is not None:
        found = nic_discovery.load_nics_file(_read_nics_file(nics_file), nics_file)
        for nic in found:
            log.info("name=%s driver=%s mac=%s", nic.name, nic.driver or "?", nic.mac)
    else:
        found = nic_discovery.discover()
    if resolvers is None:
        resolvers = source.host_resolvers()
    builder = Builder(meta, found, os_option, resolvers, options={"renderer": renderer})
    builder.initialize(rootfs)
    result = builder.run(rootfs, dry_run=dry_run)
    _release_warnings()  # the run succeeded: the warnings it held back are shown now
    if dry_run and not quiet:
        for change in result.changes:
            click.echo(f"{change.action:9} {change.path}")
            if change.action != "unchanged":
                click.echo(change.diff(), nl=False)
    elif not quiet:
        click.echo(f"Configuration files written to root filesystem '{rootfs}'")


def _read_nics_file(path):
    from packetnetworking.nics import MAX_CAPTURE_BYTES

    try:  # one byte more than the limit is enough to refuse it
        return source.read_limited(path, MAX_CAPTURE_BYTES + 1)
    except OSError as err:
        raise errors.NICError(f"cannot read NIC file {path}: {err.strerror}",
                              "check the --nics-file path") from None


def _setup_logging(verbose, quiet):
    """-q: nothing; default: warnings, held until the run ends; -v INFO, -vv DEBUG, live.

    At the default verbosity and with -q, ``logging`` is imported only if a
    message at the shown level (or third-party code) comes (packetnetworking.lazylog).
    """
    level = lazylog.WARNING
    if verbose == 1:
        level = lazylog.INFO
    elif verbose >= 2:
        level = lazylog.DEBUG
    if quiet:
        level = lazylog.CRITICAL + 1
    hold = verbose == 0 and not quiet

    def setup(logging):
        global _held
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        _held = _held_warnings(logging, handler) if hold else None
        root = logging.getLogger()
        root.handlers[:] = [_held or handler]
        root.setLevel(level)

    global _held
    _held = None
    lazylog.drop_below(level, setup)
    if verbose or "logging" in sys.modules:
        # verbose runs log from the start; and a program that imported logging before
        # calling main() may log through it directly: its messages must meet the handlers
        lazylog.ensure()


def _held_warnings(logging, target):
    """At the default verbosity warnings wait for the end of the run: shown when it
    succeeds, dropped when it fails, so that a failure prints exactly one line (its
    message says what to fix; -v shows every warning as it happens)."""

    class HeldWarnings(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.records = []

        def emit(self, record):
            self.records.append(record)

        def show(self):  # not "release": logging.Handler.release() unlocks the handler
            records, self.records = self.records, []
            for record in records:
                target.handle(record)

    return HeldWarnings()


_held = None


def _release_warnings():
    if _held is not None:
        _held.show()


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

    Called without ``argv`` (as the program: the console script, ``python -m``),
    the process is about to end: the run's objects are frozen out of the garbage
    collector, so the interpreter's shutdown does not walk them all once more
    before the operating system frees the memory anyway (~10 ms, a tenth of a
    run; docs/performance.md). Objects caught in reference cycles then get no
    finalizer at exit: everything this tool opens is closed explicitly, and a
    hook must do the same.
    """
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose, quiet = _flags(argv)
    _setup_logging(verbose, quiet)
    try:
        _run(argv, verbose, quiet)
    finally:
        lazylog.reset()  # an embedding program's later messages go to logging as usual
        if as_program:
            gc.freeze()


def _run(argv, verbose, quiet):
    code = errors.EXIT_OK
    try:
        cli.main(args=argv, prog_name="packet-networking", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:  # usage errors: one line, exit 2
        message = exc.format_message().replace("\n", " ")
        _fail(f"{message} (see --help)", errors.EXIT_USAGE, quiet, verbose)
    except click.exceptions.Abort:
        _fail("interrupted", 130, quiet, verbose)
    except errors.PacketNetworkingError as exc:
        _fail(exc.one_line(), exc.exit_code, quiet, verbose)
    except KeyboardInterrupt:
        _fail("interrupted", 130, quiet, verbose)
    except Exception as exc:  # a bug: still one line, the traceback at -vv
        detail = " ".join(str(exc).split())
        _fail(f"internal error: {type(exc).__name__}: {detail}; please report it with -vv output",
              errors.EXIT_INTERNAL, quiet, verbose)
    _release_warnings()
    sys.exit(code)


def _fail(message, code, quiet, verbose):
    if verbose >= 2:
        log.debug("traceback:", exc_info=True)
    if not quiet:
        click.echo(f"packet-networking: error: {message}", err=True)
    sys.exit(code)
