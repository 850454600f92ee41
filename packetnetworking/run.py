"""The run that drives a build: ``Builder``.

``initialize`` builds the network model from the metadata, the NICs and the OS;
``build_tasks`` finds the family (distros.find) and lets it build its tasks;
``render`` renders them (pure, no disk access); ``plan`` adds what the manifest
of an earlier run says to remove; ``run`` hands everything to the writer. The
hooks (hooks.py) are triggered along the way with this ``Builder``: that is why
the class keeps the name the hooks API gives it.
"""
import dataclasses
import logging
import sys

import jinja2

from packetnetworking import distros, hooks, templating
from packetnetworking.builder import layout_name
from packetnetworking.errors import NothingToWrite, PacketNetworkingError
from packetnetworking.matching import build_model
from packetnetworking.operating_system import parse_os
from packetnetworking.tasks import DELETE, MOVE_ASIDE, SYMLINK, FileOp, Task

log = logging.getLogger(__name__)


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
        cls = distros.find(self.network.os.distro)
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
