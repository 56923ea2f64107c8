"""The runtime stands alone: no `engine` module imports the `models` package
(training code), and the engine's own modules import each other without a
cycle. Imports are read from the source (every `import`, at module level or
inside a function), so a lazy import counts as much as a top-level one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """Absolute names this file imports; `from pkg import sub` names pkg.sub when it is a module."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return found


def engine_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in (root / "engine").rglob("*.py")}
    return {name: imports_of(path, set(files), root) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_engine_module_imports_the_models_package():
    offenders = sorted(f"{name} imports {target}" for name, targets in engine_graph().items()
                       for target in targets if target == "models" or target.startswith("models."))
    assert offenders == []


def test_engine_modules_import_each_other_without_a_cycle():
    graph = {name: {t for t in targets if t.startswith("engine.")} for name, targets in engine_graph().items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_checks_find_a_planted_cycle_and_a_planted_import_of_models(tmp_path):
    engine = tmp_path / "engine"
    (engine / "runtime").mkdir(parents=True)
    (engine / "__init__.py").write_text("")
    (engine / "runtime" / "__init__.py").write_text("")
    (engine / "runtime" / "a.py").write_text("from . import b\n")
    (engine / "runtime" / "b.py").write_text("def later():\n    from engine.runtime.a import x\n")
    (engine / "c.py").write_text("def train():\n    from models.style import network\n")
    graph = engine_graph(tmp_path)
    assert graph["engine.c"] == {"models.style"}
    internal = {name: {t for t in targets if t.startswith("engine.")} for name, targets in graph.items()}
    assert find_cycle(internal) == ["engine.runtime.a", "engine.runtime.b", "engine.runtime.a"]
    assert len(engine_graph()) == len(list((ROOT / "engine").rglob("*.py")))    # every module is read
