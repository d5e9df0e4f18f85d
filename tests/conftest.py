"""Shared test settings."""

import os
from pathlib import Path

# Folder with the real data files. Tests that need them are skipped when it is absent.
SHARED_DATA_DIR = Path(
  os.environ.get("CAUSALMIA_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
)
