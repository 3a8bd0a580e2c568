"""The package's structure: one module per step, and no import cycle between them."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "stance"


def module_imports(inside_functions: bool = True) -> nx.DiGraph:
    """stance module → the stance modules it imports, imports inside functions counted unless told otherwise."""
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        graph.add_node(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree) if inside_functions else tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stance"):
                graph.add_edge(name, node.module)
            elif isinstance(node, ast.Import):
                graph.add_edges_from((name, a.name) for a in node.names if a.name.startswith("stance"))
    return graph


def test_no_module_imports_itself_back() -> None:
    graph = module_imports()
    graph.remove_edges_from(nx.selfloop_edges(graph))  # the package's lazy attribute lookup names itself
    assert "stance.classifier" in graph and "stance.batch" in graph
    assert list(nx.simple_cycles(graph)) == []


def test_prediction_never_loads_training_code() -> None:
    graph = module_imports()
    training = {"stance.train", "stance.distill", "stance.found"}
    for room in ("stance.classifier", "stance.batch", "stance.engine_ray", "stance.mentions", "stance.actors"):
        assert not any(nx.has_path(graph, room, t) for t in training), room


def test_the_prediction_rooms() -> None:
    graph = module_imports()
    # the result types depend on nothing of the package; the batch job sits on the classifier, not the reverse
    assert list(graph.successors("stance.schema")) == []
    assert graph.has_edge("stance.batch", "stance.classifier")
    assert not nx.has_path(graph, "stance.classifier", "stance.batch")
    assert not nx.has_path(graph, "stance.aggregate", "stance.classifier")
    assert not (PACKAGE / "predict.py").exists()
