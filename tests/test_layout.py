"""The package's structure: one package per step of the data flow, and no import cycle between them."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "stance"
# The steps of the data flow (../shared/GUIDE.md), one package each, in the order data flows through them.
STEPS = ("readers", "actors", "dataset", "predict", "training", "evaluation", "report")


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


def room(module: str) -> str:
    """The step package a module belongs to, or `base` for the shared modules at the top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STEPS) else "base"


def test_no_module_imports_itself_back() -> None:
    graph = module_imports()
    graph.remove_edges_from(nx.selfloop_edges(graph))
    assert "stance.predict.classifier" in graph and "stance.predict.batch" in graph
    assert list(nx.simple_cycles(graph)) == []


def test_every_step_is_a_package_and_the_steps_import_each_other_without_a_cycle() -> None:
    for step in STEPS:
        assert (PACKAGE / step / "__init__.py").is_file(), step
    graph = module_imports()
    rooms = nx.DiGraph()
    for a, b in graph.edges:
        # The command line sits on everything, and the package's lazy exports name what they load.
        if a not in ("stance", "stance.cli") and room(a) != room(b):
            rooms.add_edge(room(a), room(b))
    assert list(nx.simple_cycles(rooms)) == []
    # The shared modules import no step.
    assert list(rooms.successors("base")) == [] if "base" in rooms else True


def test_prediction_and_actor_finding_never_load_training_code() -> None:
    graph = module_imports()
    training = [m for m in graph if room(m) == "training"]
    assert training
    for module in graph:
        if room(module) in ("predict", "actors", "readers"):
            assert not any(nx.has_path(graph, module, t) for t in training), module


def test_the_prediction_rooms() -> None:
    graph = module_imports()
    # the result types depend on nothing of the package; the batch job sits on the classifier, not the reverse
    assert list(graph.successors("stance.schema")) == []
    assert graph.has_edge("stance.predict.batch", "stance.predict.classifier")
    assert not nx.has_path(graph, "stance.predict.classifier", "stance.predict.batch")
    assert not nx.has_path(graph, "stance.predict.aggregate", "stance.predict.classifier")
