"""The layering of the design card, enforced on the source: the core never imports Beam,
Click, the pipelines or the job layer; the pipelines never import the job layer or the
commands; nothing below the CLI imports the commands; and no module-level imports form
a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ("text", "files", "records", "pretraining", "model", "training", "interop")
NO_TF = ("text", "files", "records", "pretraining")


def modules() -> dict[str, Path]:
    found = {}
    for package in ("albert_data", "pipelines", "vocab"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Modules ``path`` imports (everywhere, or only at module level)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_tree_is_what_the_rules_are_checked_on():
    found = modules()
    for package in CORE:
        assert any(under(m, f"albert_data.{package}") for m in found), package
    assert len([m for m in found if under(m, "pipelines")]) >= 5


def test_core_imports_neither_beam_nor_click_nor_upper_layers():
    bad = []
    for name, path in modules().items():
        if not any(under(name, f"albert_data.{p}") for p in CORE) and not under(name, "vocab"):
            continue
        for imported in imports(path, module_level_only=False):
            forbidden = (
                "apache_beam",
                "click",
                "pipelines",
                "albert_data.jobs",
                "albert_data.commands",
            )
            if name == "albert_data.files.fileio" and under(imported, "apache_beam.io.filesystems"):
                continue  # the one door to Beam's FileSystems (gs://, s3://, ...)
            if any(under(imported, f) for f in forbidden):
                bad.append(f"{name} imports {imported}")
            if any(under(name, f"albert_data.{p}") for p in NO_TF) and under(
                imported, "tensorflow"
            ):
                bad.append(f"{name} imports {imported}")
    assert not bad, bad


def test_pipelines_never_import_jobs_or_commands_or_tensorflow():
    bad = [
        f"{name} imports {imported}"
        for name, path in modules().items()
        if under(name, "pipelines")
        for imported in imports(path, module_level_only=False)
        if any(
            under(imported, f)
            for f in ("albert_data.jobs", "albert_data.commands", "tensorflow", "keras")
        )
    ]
    assert not bad, bad


def test_only_the_cli_imports_commands():
    bad = [
        f"{name} imports {imported}"
        for name, path in modules().items()
        if not (under(name, "albert_data.commands") or name == "albert_data.cli")
        for imported in imports(path, module_level_only=False)
        if under(imported, "albert_data.commands")
    ]
    assert not bad, bad


def _resolve(imported: str, known: dict[str, Path]) -> str | None:
    while imported and imported not in known:
        imported = imported.rpartition(".")[0]
    return imported or None


def test_no_import_cycles_at_module_level():
    known = modules()
    graph = {
        name: {
            target
            for imported in imports(path, module_level_only=True)
            if (target := _resolve(imported, known))
            and target != name
            and not name.startswith(target + ".")  # a package's own __init__
        }
        for name, path in known.items()
    }
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles
    assert sum(len(v) for v in graph.values()) > 50  # the graph is really built


def test_no_function_longer_than_sixty_lines():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    long.append(f"{name}.{node.name}: {length} lines")
    assert not long, long
