"""The layer's modules import on their own terms: every one imports, and no import circle joins
them (a module importing another, at its top or inside a function, that imports it back)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "connector" / "twilio_connector"


def modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` by its dotted name (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Which of the package's modules each one imports, anywhere in its source (a lazy import
    inside a function closes a circle as surely as one at the top). A module's imports of its
    own enclosing packages are left out: Python runs a package's ``__init__`` before any of its
    modules, so those are no circle."""
    known = modules(package)
    root = package.name
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package ``level - 1`` levels up
                    parent = here[: len(here) - node.level + 1]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                imported.add(base)
                # ``from package import module`` imports that module
                imported.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {
            other
            for other in imported
            if other in known
            and other != name
            and other.split(".")[0] == root
            and not name.startswith(other + ".")
        }
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle a depth-first walk meets (each as ``a -> b -> ... -> a``); none: empty."""
    found: list[list[str]] = []
    state: dict[str, str] = {}
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                found.append([*path[path.index(other) :], other])
            elif other not in state:
                walk(other)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module)
    return found


@pytest.mark.parametrize("module", sorted(modules(LAYER)))
def test_every_layer_module_imports(module):
    importlib.import_module(module)


def test_the_layer_has_no_import_circle():
    graph = import_graph(LAYER)
    assert len(graph) > 30 and graph["twilio_connector.sms"]  # the layer was read
    assert circles(graph) == [], "import circles: " + "; ".join(
        " -> ".join(circle) for circle in circles(graph)
    )


def test_a_circle_through_a_lazy_import_is_found(tmp_path):
    """The check finds the circle the layer once had: config imported aws inside a function,
    aws imports deadline, deadline imports config."""
    package = tmp_path / "twilio_connector"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text("def secrets():\n    from twilio_connector.aws import c\n")
    (package / "aws.py").write_text("from twilio_connector.deadline import time_left\n")
    (package / "deadline.py").write_text("from twilio_connector import config\n")
    (package / "sub" / "__init__.py").write_text("from twilio_connector.sub import part\n")
    (package / "sub" / "part.py").write_text("from twilio_connector.sub import registry\n")
    assert circles(import_graph(package)) == [
        [
            "twilio_connector.aws",
            "twilio_connector.deadline",
            "twilio_connector.config",
            "twilio_connector.aws",
        ]
    ]
