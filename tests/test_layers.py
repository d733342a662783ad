"""The import rules of docs/architecture.md: lower layers never import upper ones.

The walk is static: every ``import`` and ``from ... import`` in every module of
the package counts, at module level, inside functions and methods, and under
``if TYPE_CHECKING:`` alike, absolute or relative. A type-only or deferred import
is still knowledge of the other layer, which is what the rules forbid. Imports
by string (``importlib.import_module``, the load-test registry's
``"module:function"`` paths) are not seen.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import vgkit

#: Module groups the rules name: the first component under ``vgkit`` -> its layer.
LAYERS = {
    # the models layer: what everything else is built from
    "models": "models", "platforms": "models", "templates": "models", "errors": "models",
    "config": "models", "metrics": "models", "resource": "models", "breaker": "models",
    "documents": "models", "tracing": "models", "otel": "models",
    # orchestration: the graph, its execution and what a run produced
    "orchestrator": "orchestration", "pipeline": "orchestration", "scheduler": "orchestration",
    "executors": "orchestration", "generation": "orchestration", "api": "orchestration",
    "plan_cache": "orchestration", "dag": "orchestration", "sessions": "orchestration",
    "events": "orchestration",
    # the port map is read from the agents' specs
    "endpoints": "agents",
}  # fmt: skip

#: Layer -> layers it must never import.
FORBIDDEN = {
    "cache": {"agents", "orchestration"},
    "agents": {"cache", "orchestration"},
    "models": {"client", "cache"},
    "client": {"serve"},
}


class Edge(NamedTuple):
    importer: str
    imported: str
    line: int


def modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under ``root``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(root: Path, package: str) -> Iterator[Edge]:
    """Every import of a module of ``package`` by another, wherever it is written."""
    mods = modules(root, package)
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join([*here, base] if base else here)
                # ``from pkg import sub`` imports the submodule when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]  # fmt: skip
            else:
                continue
            for target in targets:
                if target == package or target.startswith(package + "."):
                    yield Edge(name, target, node.lineno)


def layer(module: str) -> str:
    parts = module.split(".")
    return LAYERS.get(parts[1], parts[1]) if len(parts) > 1 else "vgkit"


def violations(root: Path, package: str = "vgkit") -> list[str]:
    found = []
    for edge in imports(root, package):
        src, dst = layer(edge.importer), layer(edge.imported)
        if dst in FORBIDDEN.get(src, ()) or (dst == "cli" and src != "cli"):
            found.append(f"{src} -> {dst}: {edge.importer}:{edge.line} imports {edge.imported}")
    return sorted(set(found))


ROOT = Path(vgkit.__file__).parent.parent


def test_the_package_keeps_the_import_rules() -> None:
    assert violations(ROOT) == []


def test_the_walk_sees_the_package_imports() -> None:
    # A walk that found nothing would pass the rules vacuously.
    edges = {(e.importer, e.imported) for e in imports(ROOT, "vgkit")}
    assert ("vgkit.orchestrator", "vgkit.agents") in edges
    assert ("vgkit.agents.remote", "vgkit.client.a2a") in edges
    assert ("vgkit.loadtest.targets", "vgkit.orchestrator") in edges  # deferred, type-only
    assert ("vgkit.cli", "vgkit.cli.generate") in edges  # ``from vgkit.cli import generate``


def test_the_walk_finds_deferred_type_only_and_relative_imports(tmp_path: Path) -> None:
    (tmp_path / "vgkit" / "cache").mkdir(parents=True)
    (tmp_path / "vgkit" / "models").mkdir()
    (tmp_path / "vgkit" / "client").mkdir()
    for folder in ("vgkit", "vgkit/cache", "vgkit/models", "vgkit/client"):
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "vgkit" / "agents.py").write_text("")
    (tmp_path / "vgkit" / "cli.py").write_text("")
    (tmp_path / "vgkit" / "serve.py").write_text("")
    (tmp_path / "vgkit" / "cache" / "tier.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from vgkit.agents import Spec\n"
        "def f():\n"
        "    from .. import cli\n"
    )
    (tmp_path / "vgkit" / "models" / "plan.py").write_text("import vgkit.client\n")
    (tmp_path / "vgkit" / "client" / "pool.py").write_text(
        "class P:\n    def m(self):\n        from ..serve import app\n"
    )
    assert violations(tmp_path) == [
        "cache -> agents: vgkit.cache.tier:3 imports vgkit.agents",
        "cache -> cli: vgkit.cache.tier:5 imports vgkit.cli",
        "client -> serve: vgkit.client.pool:3 imports vgkit.serve",
        "models -> client: vgkit.models.plan:1 imports vgkit.client",
    ]
