"""The README's Python examples run as written, in order, in one namespace."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
  blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
  assert len(blocks) >= 4
  namespace = {}
  for block in blocks:
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our own docs)
  assert "0.375" in capsys.readouterr().out
  assert namespace["low"][0] < namespace["value"][0] < namespace["high"][0]
  assert namespace["margin_scores"].shape == namespace["masks"].shape
