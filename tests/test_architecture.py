"""The package's architecture, checked from its source: layers that import one way only.

Every module of ``lpm/`` belongs to one room (a folder, or a top-level module); rooms are
ranked in :data:`LAYERS`, lowest first. A module may import its own room and lower rooms,
never a higher one, and the import graph (every ``import`` statement, including those
inside functions and under ``if TYPE_CHECKING``) has no cycle. The graph is built with
``ast`` from the files, so an import hidden in a function is seen like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lpm"

#: rooms from the bottom up; a room may import only rooms of a lower rank (and itself)
LAYERS = (
    # utilities: argument checks, files, progress bars, the version
    ("_validation", "_io", "_progress", "_threads", "_version"),
    ("geometry",),  # measurements on arrays (W, H, Grams): numpy only
    ("model",),  # what is solved: losses, class counts, the model, its logits
    ("certificates",),  # certificate kinds, exact-structure reports, the Solution record
    ("solvers",),  # one module per route, and the method= dispatch
    ("analysis",),  # exact collapse, thresholds, the ETF test, closed forms
    ("plotting",),  # figures
    ("studies",),  # sweeps, phase diagrams, the Theorem-5 check
    ("cli",),  # the command line
    ("__init__", "__main__"),  # the flat public namespace
)
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}


def module_names() -> dict[str, Path]:
    """``{dotted name: file}`` of every module of the package (a package is its
    ``__init__``)."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def room_of(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def imports_of(name: str, path: Path, modules) -> set[str]:
    """The lpm modules ``name`` imports, resolved to modules of the package."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            if "." not in target:
                return None
            target = target.rsplit(".", 1)[0]
        return target or None

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from A import b`: b is a module of A, or a name A defines (then A itself);
            # either way A's __init__ runs, an edge when A is a subpackage (the root's
            # __init__ is the public namespace on top, which the layers rule covers)
            for a in node.names:
                sub = f"{base}.{a.name}"
                targets.append(sub if sub in modules else base)
                if sub in modules and base != "lpm" and modules[base].name == "__init__.py":
                    targets.append(base)
        for t in targets:
            if not t.startswith("lpm"):
                continue
            hit = resolve(t)
            if hit is not None and hit != name:
                found.add(hit)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_room(graph):
    unknown = sorted({room_of(m) for m in graph} - set(RANK))
    assert not unknown, f"rooms missing from LAYERS: {unknown}"


def test_imports_run_down_the_layers(graph):
    bad = []
    for m, targets in graph.items():
        for t in targets:
            a, b = room_of(m), room_of(t)
            if a != b and RANK[b] >= RANK[a]:
                bad.append(f"{m} (layer {RANK[a]}) imports {t} (layer {RANK[b]})")
    assert not bad, "imports up or across the layers:\n" + "\n".join(sorted(bad))


def test_the_import_graph_has_no_cycle(graph):
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles = []

    def visit(v):
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                cycles.append(path[path.index(w) :] + [w])
            elif w not in state:
                visit(w)
        path.pop()
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    # the test above is only as good as its parser: an import hidden in a function body
    # (the way the old cycles were held up) must be an edge
    pkg = tmp_path / "lpm"
    (pkg / "model").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "model" / "__init__.py").write_text("")
    (pkg / "model" / "a.py").write_text(
        "def f():\n    from ..solvers import b\n\n\ndef g():\n    from ..solvers import solve\n"
    )
    (pkg / "solvers").mkdir()
    (pkg / "solvers" / "__init__.py").write_text("")
    (pkg / "solvers" / "b.py").write_text("from ..model.a import f\n")
    modules = {
        "lpm": pkg / "__init__.py",
        "lpm.model": pkg / "model" / "__init__.py",
        "lpm.model.a": pkg / "model" / "a.py",
        "lpm.solvers": pkg / "solvers" / "__init__.py",
        "lpm.solvers.b": pkg / "solvers" / "b.py",
    }
    # `from ..solvers import b` names a module; `import solve` a name of the package
    assert imports_of("lpm.model.a", modules["lpm.model.a"], modules) == {
        "lpm.solvers",
        "lpm.solvers.b",
    }
    assert imports_of("lpm.solvers.b", modules["lpm.solvers.b"], modules) == {"lpm.model.a"}


def test_modules_stay_small():
    # one mathematical object per module: a file past 500 lines is doing two things
    sizes = {p: len(p.read_text().splitlines()) for p in ROOT.rglob("*.py")}
    big = {str(p.relative_to(ROOT.parent)): n for p, n in sizes.items() if n >= 500}
    assert not big, f"modules of 500 lines or more: {big}"


def test_the_checker_sees_a_module_imported_from_its_package(tmp_path):
    # `from . import b` runs the package's __init__ first: when that __init__ imports the
    # importer (a front door re-exporting it), the edge to the package closes a cycle
    pkg = tmp_path / "lpm"
    (pkg / "solvers").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "solvers" / "__init__.py").write_text("from .a import f\n")
    (pkg / "solvers" / "a.py").write_text("from . import b\n\n\ndef f():\n    pass\n")
    (pkg / "solvers" / "b.py").write_text("")
    modules = {
        "lpm": pkg / "__init__.py",
        "lpm.solvers": pkg / "solvers" / "__init__.py",
        "lpm.solvers.a": pkg / "solvers" / "a.py",
        "lpm.solvers.b": pkg / "solvers" / "b.py",
    }
    assert imports_of("lpm.solvers.a", modules["lpm.solvers.a"], modules) == {
        "lpm.solvers",
        "lpm.solvers.b",
    }
    assert imports_of("lpm.solvers", modules["lpm.solvers"], modules) == {"lpm.solvers.a"}
