"""Loading ``functions/<action>/app.py`` the way Lambda does, with the layer on ``sys.path``."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "connector"
EVENTS = ROOT / "events"


def layer_on_path() -> None:
    """The layer's sources importable (``twilio_connector``), as Lambda mounts the layer."""
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))


def load_function(action: str) -> ModuleType:
    """The handler module of one action, under a unique name (every one is called ``app``)."""
    layer_on_path()
    name = f"functions_{action}_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / action / "app.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler for {action}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict:
    """A sample event from ``events/`` (the ones ``sam local invoke -e`` takes)."""
    return json.loads((EVENTS / f"{name}.json").read_text())
