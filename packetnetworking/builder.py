"""Builder, DistroBuilder, NetworkBuilder and Task: from the model to rendered files.

A ``NetworkBuilder`` fills ``self.tasks`` with ``{path relative to the rootfs:
template name | None (delete) | Task}``; a ``DistroBuilder`` lists the network
builders of a family; the ``Builder`` picks the distro builder, renders every
task (pure, no disk access) and hands the result to the writer.

Around the chosen stack's files, the run also makes the target's other stacks
step aside (ownership.py), enables the chosen stack's units (units.py) and
removes what an earlier run wrote and this one does not (manifest.py).
"""
import dataclasses
import functools
import logging
import sys
from typing import Optional

import jinja2

from packetnetworking import hooks, templating
from packetnetworking.errors import NothingToWrite, PacketNetworkingError, UnsupportedOS
from packetnetworking.model import build_model
from packetnetworking.operating_system import parse_os
from packetnetworking.releases import families, list_lines, match_release, summary
from packetnetworking.tasks import (  # noqa: F401  (re-exported for builders and tests)
    APPEND, DELETE, MOVE_ASIDE, SYMLINK, WRITE, FileOp, Rendered, Task)

log = logging.getLogger(__name__)

class NetworkBuilder:
    """Builds the tasks of one stack (or of files every stack needs).

    Subclasses implement ``build_tasks()`` and, to serve only some servers,
    ``applies()`` on the model's facts (``network.bonded``, ``network.dhcp``,
    ``network.bonds``, ``network.devices``). ``layouts``, the older spelling, still
    works: a tuple of ``bonded``, ``individual`` and ``dhcp`` (see ``layout_name``).
    Template names in ``self.tasks`` are file names in the ``templates/`` folder of
    ``templates_package`` (default: the package that defines the subclass).
    """

    layouts = None
    templates_package = None

    def __init__(self, network, distro_builder=None):
        self.network = network
        self.distro_builder = distro_builder
        self.tasks = {}

    @property
    def os(self):
        return self.network.os

    def applies(self):
        """Whether ``build_tasks()`` runs for this server: always, unless ``layouts``
        names the layouts served."""
        return self.layouts is None or layout_name(self.network) in self.layouts

    def build(self):
        if self.applies():
            self.build_tasks()
        return {path: self._task(value) for path, value in self.tasks.items()}

    def build_tasks(self):
        raise NotImplementedError

    def keep(self, path):
        """Leave ``path`` as it is: not written by this run, and not removed even if an
        earlier run wrote it (see manifest.py)."""
        if self.distro_builder is not None:
            self.distro_builder.kept.add(path)

    def context(self):
        """Values every template of this builder sees."""
        return {}

    def template(self, name, mode=0o644, append=False, **context):
        """A task rendering ``name`` with extra per-file ``context`` (e.g. ``bond=``)."""
        return Task(template=name, mode=mode, append=append, context=context or None)

    def _task(self, value):
        if value is None:
            return Task(delete=True)
        if isinstance(value, str):
            value = Task(template=value)
        if not isinstance(value, Task):
            raise TypeError(f"task must be a template name, None or Task, not {value!r}")
        if value.template and ":" not in value.template:
            value = dataclasses.replace(value, template=f"{self._package()}:{value.template}")
        return value

    def _package(self):
        if self.templates_package:
            return self.templates_package
        module = type(self).__module__
        return module if hasattr(sys.modules[module], "__path__") else module.rpartition(".")[0]


def layout_name(network):
    """The single word ``NetworkBuilder.layouts`` matches: ``dhcp`` when the server uses
    DHCP, else ``bonded`` or ``individual``."""
    if network.dhcp:
        return "dhcp"
    return "bonded" if network.bonded else "individual"


class DistroBuilder:
    """A family of distributions. Subclasses register themselves by being defined.

    - ``distros``: the distro names it serves (``"*"`` = catch-all);
    - ``network_builders``: NetworkBuilder classes run whatever the renderer
      (hostname, hosts, ...);
    - ``native_renderers``: ``{renderer name: [NetworkBuilder classes]}`` for the
      renderers whose builders the family picks itself (``eni``, ``ifcfg-rh``,
      ``wicked``: their builders live in ``packetnetworking.renderers``);
    - ``accepted_renderers``: every renderer the family accepts, native or shared
      (``netplan``, ``networkmanager``, ``networkd`` are used as they are);
    - ``releases``: ``{distro: (releases.Release, ...)}``, what differs between
      versions; ``release`` is the rule for the target's version.
    - ``renderer_configs``: the ``ownership.RendererConfig`` of each native renderer
      (what it reads, how it steps aside, its units); the shared renderers and
      cloud-init have theirs in ``packetnetworking.renderers``.

    The renderer comes from ``--renderer`` or, with ``auto``, from
    ``detect_renderer()`` (what the target root runs). Override
    ``select_network_builders()`` for anything else.

    Before 2027 these attributes said "stack" (``native_stacks``,
    ``accepted_stacks``, ``stack_configs``, ``self.stack``): a subclass that
    still sets the old names keeps working.
    """

    family = ""
    distros = []
    network_builders = []
    native_renderers = {}
    accepted_renderers = ()
    releases = {}
    renderer_configs = ()
    registry = []
    _builtin_slot = None  # set by packetnetworking.distros when it is imported

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for old, new in _OLD_NAMES.items():
            if old in cls.__dict__ and new not in cls.__dict__:
                setattr(cls, new, cls.__dict__[old])
        registry = DistroBuilder.registry
        if cls.__module__.startswith("packetnetworking.distros.") and \
                DistroBuilder._builtin_slot is not None:
            # Built-in families are imported on demand; they take the place in the
            # registry they had when all of them were imported with the package (after
            # what was defined before it, before plugins and later definitions).
            builtins = [i for i, b in enumerate(registry)
                        if b.__module__.startswith("packetnetworking.distros.")]
            at = builtins[-1] + 1 if builtins else min(DistroBuilder._builtin_slot, len(registry))
            registry.insert(at, cls)
        else:
            registry.append(cls)

    def __init__(self, network, rootfs=None, options=None):
        self.network = network
        self.rootfs = rootfs
        self.options = options or {}
        self.renderer = None
        self.renderer_reason = ""
        self.kept = set()  # paths builders leave as they are (NetworkBuilder.keep)

    @property
    def os(self):
        return self.network.os

    @property
    def stack(self):
        """The former name of ``renderer``."""
        return self.renderer

    @functools.cached_property
    def release(self):
        """The ``Release`` rule for this OS's version (None when the family has no
        rules for the distro); an unknown version warns once, when first asked."""
        table = self.releases.get(self.os.distro)
        return match_release(table, self.os) if table else None

    @property
    def target(self):
        """Read-only view of the target root, confined to it (see target.py); one for
        the run, its handles closed when ``build()`` ends."""
        from packetnetworking.target import TargetRoot
        if getattr(self, "_target", None) is None:
            self._target = TargetRoot(self.rootfs)
        return self._target

    def available_renderers(self):
        """``{renderer name: [NetworkBuilder classes]}`` of every renderer the family
        accepts."""
        return {name: self.renderer_builders(name) for name in self.available_renderer_names()}

    def available_renderer_names(self):
        """The renderers this build can write for the family, without importing the
        shared ones (a run imports only the renderer it writes)."""
        from packetnetworking import renderers as shared
        return [name for name in self.accepted_renderers or tuple(self.native_renderers)
                if self.native_renderers.get(name) or name in shared.MODULES]

    def renderer_builders(self, name):
        from packetnetworking import renderers as shared
        return list(self.native_renderers.get(name) or shared.shared_renderer(name))

    def choose_renderer(self):
        """``(renderer, reason)`` for this run; None when the family has no renderers."""
        from packetnetworking.renderers import ALIASES

        available = self.available_renderer_names()
        if not available:
            return None, "the family has a single way to write its files"
        renderer = self.options.get("renderer") or "auto"
        flavour = next((name for name in ALIASES.get(renderer, ()) if name in available), None)
        if flavour:
            log.warning("--renderer %s is now called --renderer %s (for %s): writing %s",
                        renderer, flavour, self.os.distro, flavour)
            renderer = flavour
        if renderer != "auto":
            if renderer not in available:
                raise UnsupportedOS(
                    f"--renderer {renderer} is not available for {self.os.distro}; "
                    f"choose one of: auto, {', '.join(sorted(available))}")
            return renderer, "forced by --renderer"
        renderer, reason = self.detect_renderer()
        if renderer not in available:
            raise UnsupportedOS(f"{self.os} would need the {renderer} renderer, which this "
                                "build of packet-networking cannot write")
        return renderer, reason

    def detect_renderer(self):
        """Pick the renderer from what the target runs (rules in renderers/selection.py)."""
        from packetnetworking.renderers.selection import auto_renderer
        return auto_renderer(self)

    def select_network_builders(self):
        self.release  # noqa: B018  (pick the rule, and warn, before anything is built)
        self.renderer, self.renderer_reason = self.choose_renderer()
        if self.renderer:
            log.info("renderer: %s (%s)", self.renderer, self.renderer_reason)
        builders = self.renderer_builders(self.renderer) if self.renderer else []
        return list(self.network_builders) + builders

    def context(self):
        return {"renderer": self.renderer}

    def all_renderer_configs(self):
        """The RendererConfig of every renderer the target may run: the family's own,
        then cloud-init's and the shared renderers'."""
        from packetnetworking import renderers as shared
        return list(self.renderer_configs) + shared.shared_configs()

    def build(self):
        try:
            tasks = {}
            self.builders = []
            classes = self.select_network_builders()
            configs = self.all_renderer_configs()
            for cls in classes + [b for config in configs for b in config.builders]:
                builder = cls(self.network, self)
                self.builders.append(builder)
                for path, task in builder.build().items():
                    tasks[path] = (task, builder)
            for path, task in self.take_ownership(tasks, configs).items():
                tasks[path] = (task, None)
            return tasks
        finally:
            self.target.close()

    def take_ownership(self, tasks, configs):
        """``{path: Task}``: the other stacks step aside, the chosen one is enabled.

        Reads the manifest of an earlier run (``self.manifest``, its entries'
        states in ``self.manifest_states``): the files it wrote that this run does
        not write are removed by its cleanup (``Builder.plan``) rather than moved
        aside."""
        from packetnetworking import ownership, units
        from packetnetworking.manifest import Manifest

        target = self.target
        self.manifest = Manifest.load(target)
        self.manifest_states = self.manifest.check(target)
        ours = self.manifest.removable(self.manifest_states)
        devices = ownership.Devices.of(self.network)
        owned = ownership.step_aside(configs, self.renderer, devices, target, keep=set(tasks),
                                     ours=ours)
        chosen = [config for config in configs if config.name == self.renderer]
        for config in chosen:
            for path, task in units.enable(config.units, target, ours=ours).items():
                if path not in tasks and path not in owned:
                    owned[path] = task
        return owned

    @classmethod
    def find(cls, distro):
        """The last registered builder serving ``distro``, else the last catch-all;
        built-in families rank below plugins and later definitions."""
        builtin = _load_plugins()
        builtin.load_family(distro)  # only the family that can serve this distro
        for builder in reversed(cls.registry):
            if distro in builder.distros:
                return builder
        builtin.load_family("*")
        for builder in reversed(cls.registry):
            if "*" in builder.distros:
                return builder
        _load_distros()  # every family, to list them all
        raise UnsupportedOS(f"no builder for distro {distro!r} (supported: "
                            f"{supported_summary(cls.registry)})",
                            "pass -o 'DISTRO VERSION' with one of them")


def supported_summary(registry):
    """Every distro name the registered builders serve: the built-in table's (each
    with its other names), then those only plugins serve."""
    known = {name for family in families().values() for name in family}
    extra = sorted({d for b in registry for d in b.distros if d != "*"} - known)
    return summary() + "".join(f", {name}" for name in extra)


def list_distros():
    """``--list-distros``: the built-in table, then what plugins add."""
    _load_distros()
    known = {name for family in families().values() for name in family}
    lines = list_lines()
    for builder in DistroBuilder.registry:
        for name in builder.distros:
            if name != "*" and name not in known:
                known.add(name)
                lines.append(f"{name}  (plugin {builder.__module__}.{builder.__qualname__})")
    return lines


#: Attribute names a DistroBuilder subclass may still use -> today's names.
_OLD_NAMES = {"native_stacks": "native_renderers", "accepted_stacks": "accepted_renderers",
              "stack_configs": "renderer_configs"}

_PLUGINS_LOADED = False


def _load_plugins():
    """Import the ``packetnetworking.distros`` package (not its families: ``find``
    imports the one it needs) and the entry points of that group; returns the package."""
    global _PLUGINS_LOADED
    import packetnetworking.distros as builtin
    if not _PLUGINS_LOADED:
        _PLUGINS_LOADED = True
        for entry in hooks.entry_points(hooks.DISTRO_ENTRY_POINTS):
            entry.load()
    return builtin


def _load_distros():
    """Import every built-in family and the ``packetnetworking.distros`` entry points."""
    _load_plugins().load_all()


class Builder:
    """Holds the metadata and the network model; runs the distro builder and the writer."""

    def __init__(self, metadata, nics, os_option=None, resolvers=(), options=None):
        self.metadata = metadata
        self.nics = nics
        self.os_option = os_option
        self.resolvers = list(resolvers)
        self.options = options or {}
        self.network = None
        self.distro_builder = None

    def initialize(self, rootfs=None):
        """Build the network model. ``rootfs``: the target root, whose os-release names
        the OS when ``-o`` does not (see operating_system.parse_os)."""
        from packetnetworking.target import TargetRoot

        target = TargetRoot(rootfs) if rootfs is not None else None
        os_info = parse_os(self.os_option, self.metadata, target)
        self.network = build_model(self.metadata, self.nics, os_info, self.resolvers)
        hooks.trigger("initialized", self)
        return self

    def build_tasks(self, rootfs=None):
        cls = DistroBuilder.find(self.network.os.distro)
        log.debug("distro builder: %s for %s", cls.__name__, self.network.os)
        self.distro_builder = cls(self.network, rootfs=rootfs, options=self.options)
        tasks = self.distro_builder.build()
        hooks.trigger("tasks_built", self, tasks)
        if not tasks:
            raise NothingToWrite(f"the {cls.__name__} builder produced no file for this "
                                 f"metadata ({layout_name(self.network)} layout)",
                                 "check the metadata's network section")
        return tasks

    def render(self, tasks):
        """Render every task; any failure renders nothing (the writer never starts)."""
        rendered = {}
        for path in sorted(tasks):
            task, builder = self._as_task(tasks[path])
            rendered[path] = self._render_one(path, task, builder)
        return rendered

    def _as_task(self, value):
        """``(Task, NetworkBuilder or None)``; a ``tasks_built`` hook may set any task shape
        (template name, None to delete, Task): a bare template name is looked up in the
        distro builder's package, so hooks should name theirs ``"package:file.j2"``."""
        if isinstance(value, tuple):
            return value
        if value is None:
            return Task(delete=True), None
        if isinstance(value, str):
            value = Task(template=value)
        if not isinstance(value, Task):
            raise TypeError(f"task must be a template name, None or Task, not {value!r}")
        if value.template and ":" not in value.template and self.distro_builder is not None:
            module = type(self.distro_builder).__module__
            if not hasattr(sys.modules[module], "__path__"):
                module = module.rpartition(".")[0]
            value = dataclasses.replace(value, template=f"{module}:{value.template}")
        return value, None

    def _render_one(self, path, task, builder):
        if task.action in (DELETE, MOVE_ASIDE):
            return FileOp(task.action)
        if task.action == SYMLINK:
            return FileOp(SYMLINK, link=task.symlink)
        if task.content is not None:
            content = task.content
        else:
            context = {"net": self.network, "network": self.network, "os": self.network.os,
                       "path": path}
            if self.distro_builder is not None:
                context.update(self.distro_builder.context())
            if builder is not None:
                context.update(builder.context())
            context.update(task.context or {})
            try:
                content = templating.render(task.template, **context)
            except jinja2.TemplateError as err:
                raise TemplateFailure(f"rendering {path} from {task.template} failed: "
                                      f"{err}") from err
        return FileOp(task.action, content, task.mode, keep_aside=task.keep_aside)

    def plan(self, rootfs):
        """``{path: FileOp}``: every change of the run, the manifest's included."""
        tasks = self.build_tasks(rootfs)
        rendered = self.render(tasks)
        distro = self.distro_builder
        manifest = getattr(distro, "manifest", None)
        if manifest is not None:
            rendered.update(manifest.finish(rendered, distro.manifest_states, distro.kept))
        return rendered

    def run(self, rootfs, dry_run=False, writer=None):
        """Build, render and write. The ``written`` hooks run inside the writer's
        transaction: one that fails undoes the run."""
        from packetnetworking import writer as default_writer

        def written(result):
            hooks.trigger("written", self, rootfs, result)

        # what is planned depends on the target (the manifest, the other stacks' files):
        # a concurrent run must not change it between this run's reading and writing
        with default_writer.locked(rootfs):
            rendered = self.plan(rootfs)
            return (writer or default_writer).apply(rootfs, rendered, dry_run=dry_run,
                                                    on_written=None if dry_run else written)


class TemplateFailure(PacketNetworkingError):
    """A template failed to render: a bug in a builder or template, not in the input."""
