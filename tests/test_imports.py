"""No import cycle in engine/: the module graph, read from the source with `ast`.

Every import counts, at module level and inside functions (a lazy import is still a
dependency: it only moves the cycle to run time). Relative imports are resolved against the
importing module's package. `from pkg import name` depends on the submodule `pkg.name` when
there is one, else on `pkg` itself. Importing `a.b.c` also runs `a` and `a.b`, but those
implicit edges to a module's own ancestors are left out: a package's `__init__` that
imports its own submodules is not a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"


def module_names(root: Path = ENGINE) -> dict[str, Path]:
    """Dotted module name → file, for every module and package under `root`."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The engine modules `name` (at `path`) imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import engine.x.y` names engine.x.y
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a
    cycle through its modules, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_graph_sees_lazy_and_relative_imports():
    edges = graph()
    # module level, relative, one package up
    assert "engine.runtime.semantics" in edges["engine.runtime.decision"]
    # inside a function (`RuleSet.backend` imports the durable backend on first use)
    assert "engine.backends.durable" in edges["engine.compile"]
    # inside a function, `from . import api` in the package's lazy __getattr__
    assert "engine.api" in edges["engine"]
    # two levels up from a subpackage of a subpackage
    assert "engine.language.model" in edges["engine.backends.durable.compiler"]


def test_cycle_detection_finds_a_cycle_and_ignores_ancestors():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"p": {"p.x"}, "p.x": set()}) == []


def test_no_import_cycle_in_engine():
    found = cycles(graph())
    assert not found, "import cycles in engine/: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_layers_point_down():
    """runtime <- backends <- compile <- evaluate <- api: nothing imports a layer above it."""
    edges = graph()
    above = {
        "engine.runtime": ("engine.backends", "engine.compile", "engine.evaluate", "engine.api"),
        "engine.backends": ("engine.compile", "engine.evaluate", "engine.api"),
        "engine.compile": ("engine.evaluate", "engine.api"),
        "engine.evaluate": ("engine.api",),
    }
    wrong = sorted((m, t) for m, targets in edges.items() for layer, banned in above.items()
                   if m == layer or m.startswith(layer + ".")
                   for t in targets if any(t == b or t.startswith(b + ".") for b in banned))
    assert not wrong, wrong


# The dependency rule of docs/architecture.md: what each part of engine/ may import. A part
# is a top-level module or subpackage; a module may always import within its own part.
ALLOWED = {
    "errors": set(),
    "language": {"errors"},
    "runtime": {"language", "errors"},
    "space": {"runtime", "language", "errors"},
    "backends": {"runtime", "language", "errors"},
    "compile": {"backends", "runtime", "language", "errors"},
    "evaluate": {"compile", "backends", "runtime", "language", "errors"},
    "analysis": {"space", "evaluate", "compile", "backends", "runtime", "language", "errors"},
    "explain": {"analysis", "space", "evaluate", "compile", "runtime", "language", "errors"},
    "suites": {"explain", "analysis", "space", "evaluate", "compile", "runtime", "language", "errors"},
    "io": {"runtime", "language", "errors"},
    "batch": {"io", "explain", "analysis", "evaluate", "compile", "backends", "runtime", "language", "errors"},
    "api": {"batch", "io", "suites", "explain", "analysis", "space", "evaluate", "compile", "backends", "runtime",
            "language", "errors"},
    "lsp": {"api", "io", "suites", "explain", "analysis", "space", "evaluate", "compile", "backends", "runtime",
            "language", "errors"},  # what `cli` may import: the server is the editor's command line
    "cli": {"lsp", "api", "batch", "io", "suites", "explain", "analysis", "space", "evaluate", "compile", "backends", "runtime",
            "language", "errors"},
    "": {"api", "errors"},  # the package's own __init__: the lazy public names
}


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_every_part_imports_only_what_the_dependency_rule_allows():
    wrong = sorted((m, t) for m, targets in graph().items() for t in targets
                   if part(t) != part(m) and part(t) not in ALLOWED[part(m)])
    assert not wrong, "imports the dependency rule (docs/architecture.md) does not allow: " + \
        ", ".join(f"{m} -> {t}" for m, t in wrong)


def test_the_rule_names_every_part():
    # `batch` is in the rule before its package lands (issue #12: the helpers building it
    # code against this row); once engine/batch/ exists it must be named like every part.
    planned = set() if (ENGINE / "batch").is_dir() else {"batch"}
    assert {part(m) for m in graph()} == set(ALLOWED) - planned


def test_tests_import_their_helpers_one_way():
    """`pytest` puts tests/ on sys.path, `python -m pytest` the repository root as well; a
    test module importing `tests.factgen` collects only under the second (it once broke
    plain `pytest`). Helpers are imported by their own name (`from factgen import ...`)."""
    tests = Path(__file__).resolve().parent
    wrong = [p.name for p in sorted(tests.glob("*.py"))
             if any(isinstance(n, (ast.Import, ast.ImportFrom)) and any(
                 (getattr(n, "module", None) or a.name).split(".")[0] == "tests" for a in n.names)
                 for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))))]
    assert not wrong, wrong
