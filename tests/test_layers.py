"""Imports only point down: workflows -> parts -> service_center -> core.

Every module under core/, service_center/ and parts/ (migrations excluded) is parsed, imports
inside functions included; an import from a layer above its own fails with file:line. Between
workflows/services/ and parts/ no import cycle may exist, at any depth."""

import ast
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["core", "service_center", "parts", "workflows"]  # each may import only to its left


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every absolute import in the file; `from a import b` gives both a and
    a.b (b may be a module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for layer in LAYERS[:-1]:
        above = set(LAYERS[LAYERS.index(layer) + 1 :])
        for path in _modules(layer):
            for line, module in _imports(path):
                if module.split(".")[0] in above:
                    upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not upward, "imports pointing up a layer:\n" + "\n".join(sorted(set(upward)))


def _graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    paths = _modules("parts") + [p for p in _modules("workflows") if "services" in p.parts]
    names = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {name: set() for name in names}
    where: dict[tuple[str, str], str] = {}
    for name, path in names.items():
        for line, module in _imports(path):
            if module in names and module != name:
                graph[name].add(module)
                where.setdefault((name, module), f"{path.relative_to(ROOT)}:{line}")
    return graph, where


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_no_import_cycle_between_workflows_services_and_parts():
    graph, where = _graph()
    crossing = [
        c
        for c in _cycles(graph)
        if any(m.startswith("parts") for m in c) and any(m.startswith("workflows") for m in c)
    ]
    report = [
        " -> ".join(cycle) + "\n    " + ", ".join(where[pair] for pair in pairwise(cycle))
        for cycle in crossing
    ]
    assert not crossing, "import cycles between workflows/services and parts:\n" + "\n".join(report)


def test_the_checks_see_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from workflows import services\n")
    assert (2, "workflows.services") in _imports(sample)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"parts.a": {"workflows.services.b"}, "workflows.services.b": {"parts.a"}})
