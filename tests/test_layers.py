"""The import rule (CONVENTIONS.md): a module imports only from its own floor or below, and no modules import each
other in a circle. Every module of app/ is read with `ast`; imports inside functions count too, as do the ones
under `if TYPE_CHECKING:`, since they name the same dependency.

Run as a script (`python -m tests.test_layers`) to list every offending edge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# The floors, bottom up: the first name of a module under app/ (a domain folder or a top-level file) → its floor.
LAYERS: list[set[str]] = [
    {"core"},
    {"custody", "notifications"},
    {"auth"},
    {"registry"},
    {"extractions", "cases"},
    {"footage"},
    {"appeals"},
    {"reports", "disclosure", "web", "jobs"},
    {"main", "cli", "__main__", "models", "demo"},
]
FLOOR = {name: floor for floor, names in enumerate(LAYERS) for name in names}

# The one allowed upward reach: a router depends on auth's permission dependencies.
PERMISSIONS = "app.auth.permissions"


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} (line {self.line})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The app module `target` names, or its nearest enclosing package; None outside app/."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Edge]:
    """Every import of an app module by `module`, wherever it is written (module level, function, class)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from app.x import y` names the module app.x.y when there is one, else a member of app.x.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in targets:
            resolved = _resolve(target, modules) if target.startswith("app") else None
            if resolved is not None and resolved != module:
                yield Edge(module, resolved, node.lineno)


def import_graph() -> list[Edge]:
    modules = app_modules()
    return sorted(
        {edge for module, path in modules.items() for edge in imports_of(module, path, modules)},
        key=lambda e: (e.importer, e.imported, e.line),
    )


def floor_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:  # the app package itself
        return 0
    return FLOOR[parts[1]]


def _is_router(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last == "router" or last.endswith("_router")


def upward_edges(edges: Iterable[Edge]) -> list[Edge]:
    return [
        edge
        for edge in edges
        if floor_of(edge.imported) > floor_of(edge.importer)
        and not (_is_router(edge.importer) and edge.imported == PERMISSIONS)
    ]


def circles(edges: Iterable[Edge]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
        graph.setdefault(edge.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def circle_edges(edges: Iterable[Edge]) -> list[Edge]:
    edges = list(edges)
    groups = [set(group) for group in circles(edges)]
    return [e for e in edges if any(e.importer in g and e.imported in g for g in groups)]


def report(edges: list[Edge]) -> str:
    lines = []
    for group in circles(edges):
        lines.append("circle: " + ", ".join(group))
    lines += [f"  in a circle: {edge}" for edge in circle_edges(edges)]
    lines += [
        f"upward: {edge} (floor {floor_of(edge.importer)} -> {floor_of(edge.imported)})" for edge in upward_edges(edges)
    ]
    return "\n".join(lines)


# --- the rule on app/ ---


def test_every_module_has_a_floor() -> None:
    unplaced = sorted({m.split(".")[1] for m in app_modules() if "." in m} - FLOOR.keys())
    assert not unplaced, f"give these a floor in LAYERS: {unplaced}"


def test_no_import_runs_up_the_layers() -> None:
    upward = upward_edges(import_graph())
    assert not upward, "imports that run up the layers:\n" + "\n".join(map(str, upward))


def test_no_import_circle() -> None:
    edges = import_graph()
    assert not circles(edges), "import circles:\n" + report(edges)


def test_the_task_table_is_imported_only_by_the_worker_entry_point() -> None:
    importers = {e.importer for e in import_graph() if e.imported == "app.jobs.tasks"}
    assert importers <= {"app.cli"}, importers


# --- the checker itself, on small made-up trees ---


def _edges(*pairs: tuple[str, str]) -> list[Edge]:
    return [Edge(a, b, 1) for a, b in pairs]


def test_the_checker_sees_an_upward_import_and_allows_only_a_router_on_permissions() -> None:
    edges = _edges(
        ("app.core.db", "app.auth.models"),
        ("app.custody.router", "app.auth.permissions"),
        ("app.custody.service", "app.auth.permissions"),
        ("app.footage.cutting", "app.extractions.states"),
    )
    assert upward_edges(edges) == [edges[0], edges[2]]


def test_the_checker_finds_a_circle_through_lazy_imports(tmp_path: Path) -> None:
    source = "def f():\n    from app.x.b import g\n"
    modules = {"app.x.a": tmp_path / "a.py", "app.x.b": tmp_path / "b.py"}
    modules["app.x.a"].write_text(source)
    modules["app.x.b"].write_text("from app.x import a\n")
    edges = [e for m, p in modules.items() for e in imports_of(m, p, modules)]
    assert edges == [Edge("app.x.a", "app.x.b", 2), Edge("app.x.b", "app.x.a", 1)]
    assert circles(edges) == [["app.x.a", "app.x.b"]]
    assert circles(edges[:1]) == []


if __name__ == "__main__":
    graph = import_graph()
    print(report(graph) or "no circle, no upward import")
    print(f"{len(circle_edges(graph))} edges in circles, {len(upward_edges(graph))} upward")
