"""The README says what the code does: its pipeline graph, and examples that run as written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vgkit.models import VideoRequest
from vgkit.pipeline import build_graph

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_graph() -> dict[str, set[str]]:
    """``kind -> parents`` from the README's pipeline block (``[p]`` dropped)."""
    text = README.read_text()
    start = text.index("topic_analysis (shared by all platforms)")
    block = text[start : text.index("```", start)]
    edges: dict[str, set[str]] = {}
    last = None
    for line in block.splitlines()[1:]:
        if "<-" in line:
            node, parents = line.split("<-")
            last = node.strip().removesuffix("[p]").split("[")[0]
            edges[last] = set()
        elif line.rstrip().endswith(":"):  # "for each platform p:", "with rendering ...:"
            last = None
            continue
        elif last is None or not line.strip():
            continue
        else:
            parents = line  # a continuation of the line above
        parents = re.split(r"\s{2,}", parents.strip())[0]  # drop a trailing comment
        assert last is not None
        edges[last] |= {p.strip().removesuffix("[p]") for p in parents.split(",") if p.strip()}
    return edges


def test_the_readme_graph_is_the_pipeline_graph() -> None:
    dag, _ = build_graph(VideoRequest(topic="How tides work", platforms=["tiktok"]))
    documented = _readme_graph()
    kinds = {node.split(":")[0] for node in dag.nodes if ":" in node}
    assert kinds <= set(documented), kinds - set(documented)
    for kind in kinds:  # lines for nodes this request has (rendering adds more)
        parents = {p.split(":")[0] for p in dag.parents(f"{kind}:tiktok")}
        assert documented[kind] == parents, kind


def test_the_readme_python_examples_run_as_scripts() -> None:
    """No top-level ``await`` or ``async with``: a script cannot run those (a notebook can,
    and the README says so where it matters)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        ast.parse(block)  # SyntaxError on a top-level await
