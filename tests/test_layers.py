"""Imports run one way, down the pipeline: no module imports one of a higher layer,
and no import circle, function-level imports included.

Every module of the package is parsed with ``ast`` (nothing is imported); the
layers below are the architecture's (docs/extending.md, "Code layout"), top first.
Within a layer a module may import another of the same layer.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "packetnetworking"

#: Top first; a module belongs to the first layer one of whose prefixes it starts with.
LAYERS = [
    ("entry", ["packetnetworking.__main__", "packetnetworking.entry"]),
    ("cli", ["packetnetworking.cli"]),
    ("run", ["packetnetworking.run"]),
    ("distros", ["packetnetworking.distros"]),
    ("renderers", ["packetnetworking.renderers"]),
    ("builder", ["packetnetworking.builder"]),
    ("model", ["packetnetworking.matching", "packetnetworking.model", "packetnetworking.metadata",
               "packetnetworking.nics",
               "packetnetworking.source", "packetnetworking.document",
               "packetnetworking.releases", "packetnetworking.operating_system",
               "packetnetworking.ownership", "packetnetworking.units",
               "packetnetworking.manifest", "packetnetworking.target",
               "packetnetworking.templating", "packetnetworking.hooks"]),
    ("writer", ["packetnetworking.writer", "packetnetworking.confine", "packetnetworking.mounts",
                "packetnetworking.transaction"]),
    ("leaves", ["packetnetworking.tasks", "packetnetworking.errors", "packetnetworking.names",
                "packetnetworking.fields",
                "packetnetworking"]),
]


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module):
    for index, (_, prefixes) in enumerate(LAYERS):
        # the package itself is a leaf by its exact name only, not a catch-all prefix
        if any(module == p or (p != "packetnetworking" and module.startswith(p + "."))
               for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def imports(path, module):
    """The package modules ``module`` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("packetnetworking"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            if not origin.startswith("packetnetworking"):
                continue
            for alias in node.names:  # ``from pkg import mod`` imports a module
                candidate = f"{origin}.{alias.name}"
                found.add(candidate if candidate in MODULES else origin)
    return found - {module}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {m: imports(p, m) & set(MODULES) for m, p in MODULES.items()}


def test_every_import_resolves_to_a_module_of_the_package():
    assert len(MODULES) > 30 and any(GRAPH.values())


def test_no_module_imports_one_of_a_higher_layer():
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {i} ({LAYERS[layer_of(i)][0]})"
              for m, targets in GRAPH.items() for i in targets if layer_of(i) < layer_of(m)]
    assert upward == []


def test_no_import_circle():
    state, circles = {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert circles == []
