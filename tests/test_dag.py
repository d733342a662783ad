"""The graph: construction, validation messages, levels, orders, paths, text and drawing."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from vgkit._drawing import CRITICAL
from vgkit.dag import DAG
from vgkit.errors import CycleError, GraphError
from vgkit.models import VideoRequest


def diamond() -> DAG:
    return DAG.from_mapping({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})


def weighted() -> DAG:
    """a(1) feeds b(5) and c(2), both feed d(1): the critical path is a, b, d = 7."""
    dag = DAG()
    dag.add("a", cost=1)
    dag.add("b", ["a"], cost=5)
    dag.add("c", ["a"], cost=2)
    dag.add("d", ["b", "c"], cost=1)
    return dag


def random_dag(n: int, seed: int = 7) -> DAG:
    rng = random.Random(seed)
    dag = DAG()
    for i in range(n):
        dag.add(f"n{i}", [f"n{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 3)))])
    return dag


# -- construction ------------------------------------------------------------------


def test_nodes_keep_insertion_order_and_fields():
    dag = DAG()
    dag.add("topic", cost=2.5, label="Topic analysis")
    dag.add("script:youtube", ["topic", "topic"], group="youtube")
    assert list(dag) == ["topic", "script:youtube"]
    assert len(dag) == 2 and "topic" in dag and "nope" not in dag
    node = dag.nodes["script:youtube"]
    assert node.deps == ("topic",)  # the repeated dependency is kept once
    assert (node.cost, node.group) == (1.0, "youtube")
    assert dag.nodes["topic"].label == "Topic analysis"
    with pytest.raises(TypeError):
        dag.nodes["x"] = node  # type: ignore[index]


@pytest.mark.parametrize(
    ("node_id", "kwargs", "message"),
    [
        ("a", {}, "'a' is already in the graph"),
        ("", {}, "non-empty"),
        ("z", {"cost": -1.0}, "cost must be a finite number >= 0"),
        ("z", {"cost": float("nan")}, "cost must be a finite number >= 0"),
    ],
)
def test_add_rejects_bad_nodes(node_id, kwargs, message):
    dag = DAG.from_mapping({"a": []})
    with pytest.raises(GraphError, match=message):
        dag.add(node_id, **kwargs)
    assert list(dag) == ["a"]


def test_deps_given_as_a_string_are_rejected():
    with pytest.raises(GraphError, match="not a string"):
        DAG().add("b", "a")


def test_parents_children_descendants():
    dag = DAG.from_mapping({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []})
    assert dag.parents("d") == ("b", "c")
    assert dag.children("a") == ("b", "c")
    assert dag.children("d") == ()
    assert dag.descendants("a") == {"b", "c", "d"}
    assert dag.descendants("e") == set()
    with pytest.raises(GraphError, match="no node 'x'"):
        dag.children("x")


# -- validation ---------------------------------------------------------------------


def test_unknown_dependency_names_node_and_dependency():
    dag = DAG.from_mapping({"a": [], "b": ["a", "ghost"]})
    with pytest.raises(GraphError, match="'b' depends on unknown node 'ghost'") as info:
        dag.validate()
    assert not isinstance(info.value, CycleError)
    with pytest.raises(GraphError, match="ghost"):
        dag.levels()


def test_three_cycle_inside_a_bigger_graph_is_named():
    # s feeds a; a -> b -> c -> a is the cycle; t hangs off it; x is unrelated.
    dag = DAG.from_mapping(
        {"x": [], "s": [], "a": ["s", "c"], "b": ["a"], "c": ["b"], "t": ["c"], "u": ["x"]}
    )
    with pytest.raises(CycleError) as info:
        dag.validate()
    assert info.value.cycle == ["a", "b", "c", "a"]
    assert str(info.value) == "graph has a cycle: a -> b -> c -> a"
    for query in (dag.levels, dag.topological_order, dag.critical_path, dag.to_text):
        with pytest.raises(CycleError):
            query()


def test_self_loop_is_a_cycle():
    dag = DAG.from_mapping({"a": [], "b": ["a", "b"]})
    with pytest.raises(CycleError, match=r"graph has a cycle: b -> b$") as info:
        dag.validate()
    assert info.value.cycle == ["b", "b"]


def test_cycle_through_ten_thousand_nodes_needs_no_recursion():
    n = 10_000
    dag = DAG()
    dag.add("n0", [f"n{n - 1}"])
    for i in range(1, n):
        dag.add(f"n{i}", [f"n{i - 1}"])
    with pytest.raises(CycleError) as info:
        dag.validate()
    assert info.value.cycle == [f"n{i}" for i in range(n)] + ["n0"]


# -- levels and orders --------------------------------------------------------------


def test_levels_of_a_diamond():
    assert diamond().levels() == [["a"], ["b", "c"], ["d"]]
    assert diamond().level_of() == {"a": 0, "b": 1, "c": 1, "d": 2}


def test_levels_of_a_chain():
    chain = DAG.from_mapping({"a": [], "b": ["a"], "c": ["b"], "d": ["c"]})
    assert chain.levels() == [["a"], ["b"], ["c"], ["d"]]


def test_levels_of_a_wide_fan_out_keep_insertion_order():
    leaves = [f"leaf{i}" for i in range(50)]
    dag = DAG.from_mapping({"root": [], **{leaf: ["root"] for leaf in reversed(leaves)}})
    dag.add("sink", leaves)
    assert dag.levels() == [["root"], list(reversed(leaves)), ["sink"]]


def test_a_level_waits_for_its_deepest_dependency():
    # c needs a (level 0) and b (level 1), so it is level 2; x is independent.
    # Dependents are added before their dependencies on purpose.
    dag = DAG.from_mapping({"c": ["a", "b"], "b": ["a"], "x": [], "a": []})
    assert dag.levels() == [["x", "a"], ["b"], ["c"]]
    assert dag.level_of() == {"c": 2, "b": 1, "x": 0, "a": 0}


def test_empty_graph():
    dag = DAG()
    assert dag.levels() == []
    assert dag.topological_order() == []
    assert dag.critical_path() == ([], 0.0)


def test_topological_order_prefers_insertion_order():
    # Already in a valid order: returned unchanged (Kahn rounds would give a, c, b).
    assert DAG.from_mapping({"a": [], "b": ["a"], "c": []}).topological_order() == ["a", "b", "c"]
    # Out of order: each node still comes after its dependencies, ties by insertion.
    dag = DAG.from_mapping({"d": ["b"], "b": ["a"], "c": [], "a": []})
    assert dag.topological_order() == ["c", "a", "b", "d"]


def test_topological_order_of_a_random_graph_respects_every_edge():
    dag = random_dag(2_000)
    position = {node: k for k, node in enumerate(dag.topological_order())}
    assert len(position) == len(dag)
    for node in dag:
        assert all(position[dep] < position[node] for dep in dag.parents(node))


# -- paths ------------------------------------------------------------------------


def test_critical_path_of_a_weighted_graph():
    dag = weighted()
    assert dag.critical_path() == (["a", "b", "d"], 7.0)
    assert dag.remaining_path() == {"a": 7.0, "b": 6.0, "c": 3.0, "d": 1.0}
    # Costs given at call time override the node estimates they name.
    assert dag.critical_path({"c": 10.0}) == (["a", "c", "d"], 12.0)


def test_critical_path_ties_go_to_the_earliest_added_node():
    dag = DAG.from_mapping({"a": [], "x": [], "b": ["a"], "c": ["a"], "y": ["x"]})
    # a-b, a-c and x-y all have length 2.
    assert dag.critical_path() == (["a", "b"], 2.0)


def test_critical_path_rejects_negative_costs():
    with pytest.raises(GraphError, match="'b': cost must be"):
        weighted().critical_path({"b": -2.0})


# -- text and drawing ---------------------------------------------------------------


def test_to_text_lists_levels_deps_and_the_critical_path():
    dag = weighted()
    dag.add("e", cost=0.5, label="Extras")
    assert dag.to_text() == "\n".join(
        [
            "5 nodes in 3 levels",
            "level 0 (2 nodes):",
            "  a  cost 1",
            "  e  cost 0.5  'Extras'",
            "level 1 (2 nodes):",
            "  b  cost 5  <- a",
            "  c  cost 2  <- a",
            "level 2 (1 node):",
            "  d  cost 1  <- b, c",
            "critical path (7): a -> b -> d",
        ]
    )
    assert dag.to_text({"c": 10}).endswith("critical path (12): a -> c -> d")


def render_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")  # the Agg renderer, no GUI backend
    return buffer.getvalue()


def _scatter_points(fig: Figure) -> int:
    ax = fig.axes[0]
    return sum(
        len(np.asarray(c.get_offsets())) for c in ax.collections if isinstance(c, PathCollection)
    )


def test_draw_shows_every_node_and_edge_with_the_critical_path_in_red():
    dag = weighted()
    dag.add("yt", ["a"], group="youtube")
    dag.add("tt", ["a"], group="tiktok")
    fig = dag.draw(title="plan")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert _scatter_points(fig) == 6
    arrows = [t for t in ax.texts if isinstance(t, Annotation)]
    assert len(arrows) == 6  # a->b, a->c, b->d, c->d, a->yt, a->tt
    colours = [to_rgba(a.arrow_patch.get_edgecolor()) for a in arrows if a.arrow_patch]
    assert sum(colour[0] > 0.8 for colour in colours) == 2  # red: a->b, b->d
    assert ax.get_title() == "plan"
    legend = ax.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:3] == ["shared", "youtube", "tiktok"] and labels[3].startswith("critical path")
    assert render_png(fig).startswith(b"\x89PNG")


def test_the_critical_path_red_is_no_platform_colour_and_the_legend_says_which_is_which():
    from vgkit.pipeline import build_graph

    dag, _ = build_graph(VideoRequest(topic="How tides work"))
    fig = dag.draw()
    ax = fig.axes[0]
    red = to_rgba(CRITICAL)
    fills = {tuple(np.asarray(c.get_facecolor(), dtype=float)[0]) for c in ax.collections}
    assert len(fills) == 4 and red not in fills  # shared + three platforms, none of them red
    legend = ax.get_legend()
    assert legend is not None
    handles = [h for h in legend.legend_handles if isinstance(h, Line2D)]
    entries = dict(zip([t.get_text() for t in legend.get_texts()], handles, strict=True))
    assert set(entries) == {"shared", "youtube", "tiktok", "instagram_reels",
                            "critical path (44)"}  # fmt: skip
    assert to_rgba(entries["critical path (44)"].get_color()) == red
    for name in ("youtube", "tiktok", "instagram_reels"):  # a group's marker has no red outline
        assert to_rgba(entries[name].get_markeredgecolor()) != red


def test_draw_into_given_axes_and_large_graphs():
    fig = Figure()
    ax = fig.add_subplot()
    assert diamond().draw(ax=ax) is fig
    big = random_dag(3_000).draw()
    assert _scatter_points(big) == 3_000
    assert not big.axes[0].texts  # too many nodes to label, too many edges for arrows
