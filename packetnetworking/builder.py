"""The extension API's base classes: ``NetworkBuilder`` and ``DistroBuilder``.

A ``NetworkBuilder`` fills ``self.tasks`` with ``{path relative to the rootfs:
template name | None (delete) | Task}``; a ``DistroBuilder`` is a family: its
releases, the renderer it picks from the target root and the network builders
that write it. Plugins import both from here. The run that drives a build
(``Builder``) is in run.py, the registry of families in distros/.

Around the chosen renderer's files, a family's build also makes the target's
other renderers step aside (ownership.py), enables the chosen renderer's units
(units.py) and reads what an earlier run wrote (manifest.py).
"""
import dataclasses
import functools
import logging
import sys

from packetnetworking.errors import UnsupportedOS
from packetnetworking.releases import match_release
from packetnetworking.tasks import Task

log = logging.getLogger(__name__)


class NetworkBuilder:
    """Builds the tasks of one renderer (or of files every renderer needs).

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
    #: The renderers' catalogue (``packetnetworking.renderers``: shared renderers'
    #: builders and configs, aliases), set by packetnetworking.distros when it is
    #: imported: the renderers sit above this module, which must not import them.
    renderers = None

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
        return [name for name in self.accepted_renderers or tuple(self.native_renderers)
                if self.native_renderers.get(name) or name in self.renderers.MODULES]

    def renderer_builders(self, name):
        return list(self.native_renderers.get(name) or self.renderers.shared_renderer(name))

    def choose_renderer(self):
        """``(renderer, reason)`` for this run; None when the family has no renderers."""
        available = self.available_renderer_names()
        if not available:
            return None, "the family has a single way to write its files"
        renderer = self.options.get("renderer") or "auto"
        flavour = next((name for name in self.renderers.ALIASES.get(renderer, ()) if name in available), None)
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
        accepted = list(self.accepted_renderers or self.native_renderers)
        if renderer not in accepted:
            reason = (f"{reason}, but {self.os.distro} does not accept {renderer}: "
                      f"{accepted[0]}, its first renderer")
            renderer = accepted[0]
        if renderer not in available:
            raise UnsupportedOS(f"{self.os} would need the {renderer} renderer, which this "
                                "build of packet-networking cannot write")
        return renderer, reason

    def detect_renderer(self):
        """``--renderer auto``: ``(renderer, reason)`` from what the target root runs.

        Each built-in family overrides this with its rules; this one serves families
        without rules of their own: the first accepted renderer whose program is
        installed, else the first accepted renderer. The reason is logged at INFO.
        """
        accepted = list(self.accepted_renderers or self.native_renderers)
        for name in accepted:
            found = self.installed(name)
            if found:
                return name, f"{found} present"
        return self.production_default(accepted[0], "the family's first renderer")

    def installed(self, renderer):
        """The marker in the target root telling ``renderer``'s program is installed
        (see ``packetnetworking.renderers.markers``), or None."""
        return self.renderers.installed(renderer, self.target)

    def first_installed(self, *rules):
        """``(renderer, reason)`` for the first of ``rules``, ``(renderer, reason)`` pairs,
        whose renderer's program is installed (``{}`` in the reason is the marker
        found); None when none is."""
        for renderer, reason in rules:
            found = self.installed(renderer)
            if found:
                return renderer, reason.format(found)
        return None

    def production_default(self, renderer, why=""):
        """``(renderer, reason)`` when the target root tells nothing: the renderer a
        stock image of this release runs."""
        state = ("empty target root" if self.target.is_empty()
                 else "no network program found in the target")
        detail = f"; {why}" if why else ""
        return renderer, f"{state}: the production default for {self.os}{detail}"

    @property
    def version_key(self):
        """The version as a tuple of numbers for the family's rules; a version without
        numbers (``tumbleweed``, ``stream``) sorts after every release."""
        return self.os.version_tuple or (10 ** 6,)

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
        return list(self.renderer_configs) + self.renderers.shared_configs()

    def build(self):
        try:
            tasks = {}
            classes = self.select_network_builders()
            configs = self.all_renderer_configs()
            for cls in classes + [b for config in configs for b in config.builders]:
                builder = cls(self.network, self)
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


#: Attribute names a DistroBuilder subclass may still use -> today's names.
_OLD_NAMES = {"native_stacks": "native_renderers", "accepted_stacks": "accepted_renderers",
              "stack_configs": "renderer_configs"}
