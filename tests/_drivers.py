"""Helpers shared by the smoke tests of the experiment drivers."""

import importlib.util
import json
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def load_driver(name: str):
  """Imports `experiments/<name>/run.py` as a module."""
  spec = importlib.util.spec_from_file_location(f"{name}_driver", EXPERIMENTS / name / "run.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def read_results(folder: Path) -> dict:
  """Loads a driver's results.json and checks that each figure it lists was written."""
  payload = json.loads((folder / "results.json").read_text())
  for figure in payload["figures"]:
    assert (folder / figure).stat().st_size > 1000, figure
  return payload
