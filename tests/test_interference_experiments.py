"""Smoke runs of the interference studies: each driver runs end to end on tiny settings."""

import pytest

from _drivers import load_driver, read_results
from conftest import SHARED_DATA_DIR


def test_consistency_smoke(tmp_path):
  assert load_driver("consistency").main(["--smoke", "--output", str(tmp_path)]) == 0
  payload = read_results(tmp_path)
  row = payload["pool_sizes"][0]
  assert row["num_examples"] == 64
  for estimator in ("one_run", "multi_run", "extrapolated", "exposure"):
    error = row["estimators"][estimator]["auc"]["error_vs_no_interference"]
    assert error["count"] == 4
    assert error["mean"] >= 0
  assert 0.0 <= row["no_interference"]["auc"] <= 1.0
  assert payload["runs_curve"]["runs"] == [1, 2]


def test_interference_bias_smoke(tmp_path):
  assert load_driver("interference_bias").main(["--smoke", "--output", str(tmp_path)]) == 0
  payload = read_results(tmp_path)
  assert {row["family"] for row in payload["rows"]} == {"isotropic", "grouped"}
  for row in payload["rows"]:
    setting = row["setting"]
    expected = row["stability"] * setting["inclusion_rate"] * (setting["num_examples"] - 1)
    assert row["bound"] == pytest.approx(expected)
    assert row["metrics"]["auc"]["one_run"]["count"] == 4
  for point in payload["stability"]["points"]:
    assert point["stability"] <= point["bound"]
  # Settings saved by the sweeps let a second run resume instead of recomputing.
  assert len(list((tmp_path / "sweeps").glob("*/settings/*.json"))) == 2 * 4 + 2


def test_interference_real_smoke(tmp_path):
  # The driver falls back to scikit-learn's digits when the CIFAR-10 arrays are absent.
  data_dir = SHARED_DATA_DIR / "cifar10_exact"
  driver = load_driver("interference_real")
  code = driver.main(["--smoke", "--quiet", "--output", str(tmp_path), "--data-dir",
                      str(data_dir)])
  assert code == 0
  payload = read_results(tmp_path)
  assert payload["models_trained"] == 2 * 3 + 10 + 2
  expected = "CIFAR-10" if data_dir.exists() else "scikit-learn digits"
  assert payload["source"].startswith(expected)
  auc = payload["result"]["metrics"]["auc"]
  assert len(auc["one_run"]) == 2
  assert auc["one_run"][0]["count"] == 3
