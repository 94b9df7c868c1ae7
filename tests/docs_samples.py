"""docs/samples.py, loaded as a module for the tests (docs/ is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples.py"


def load_samples() -> ModuleType:
    if "docs_samples_module" in sys.modules:
        return sys.modules["docs_samples_module"]
    spec = importlib.util.spec_from_file_location("docs_samples_module", SAMPLES)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
