"""No import cycles in the package (function-level imports count; TYPE_CHECKING blocks do not)."""

import ast
from pathlib import Path

import backproplab

PACKAGE = Path(backproplab.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            found.update(t for t in (target, *(f"{target}.{a.name}" for a in node.names)) if t in modules)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    # a module's own packages (backproplab, backproplab.diagnostics, ...) are imported before it anyway
    ancestors = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
    return found - {name} - ancestors


def test_no_import_cycles_outside_the_experiments():
    paths = [p for p in PACKAGE.rglob("*.py") if "experiments" not in p.parts]
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): imports_of(p, modules) for p in paths}
    cycles = []

    def reach(start: str, node: str, trail: list[str], seen: set[str]) -> None:
        for nxt in graph[node]:
            if nxt == start:
                cycles.append(trail + [start])
            elif nxt not in seen:
                seen.add(nxt)
                reach(start, nxt, trail + [nxt], seen)

    for module in graph:
        reach(module, module, [module], {module})
    assert cycles == []
