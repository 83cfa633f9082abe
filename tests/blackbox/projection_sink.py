"""The product sink the relay tests deliver to: scripts/projection-sink.py, loaded as a module.

One receiver serves both the README's local walk-through (run as a script) and the tests (its
ProjectionSink class, with a `behaviour(n, update)` schedule of failures); see that file for the
receiver rules it implements.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "projection-sink.py"

_spec = importlib.util.spec_from_file_location("rtgw_projection_sink", SCRIPT)
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module
_spec.loader.exec_module(_module)

ProjectionSink = _module.ProjectionSink
key_from_secret = _module.key_from_secret
sign = _module.sign
