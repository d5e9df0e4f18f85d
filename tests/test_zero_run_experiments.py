"""Smoke runs of the zero-run experiments: each driver runs end to end on tiny settings."""

import pytest

from _drivers import load_driver, read_results
from conftest import SHARED_DATA_DIR

SOTU = SHARED_DATA_DIR / "sotu_speeches"


def test_zero_run_shift_smoke(tmp_path):
  # The driver falls back to scikit-learn's digits when the CIFAR-10 arrays are absent.
  data_dir = SHARED_DATA_DIR / "cifar10_exact"
  driver = load_driver("zero_run_shift")
  code = driver.main(["--smoke", "--quiet", "--output", str(tmp_path), "--data-dir",
                      str(data_dir)])
  assert code == 0
  payload = read_results(tmp_path)
  expected = "CIFAR-10" if data_dir.exists() else "scikit-learn digits"
  assert payload["source"].startswith(expected)
  assert set(payload["estimates"]) == {"naive", "ipw", "gformula", "aipw", "design_oracle",
                                       "oracle"}
  for name, metrics in payload["estimates"].items():
    assert 0.0 <= metrics["auc"]["value"] <= 1.0, name
  aipw = payload["estimates"]["aipw"]["auc"]
  assert aipw["ci_low"] <= aipw["value"] <= aipw["ci_high"]
  low, high = payload["membership"]["true_propensity_range"]
  assert 0.0 < low < high < 1.0
  assert "| design_oracle |" in payload["table"]


@pytest.mark.skipif(not SOTU.is_dir(), reason=f"speeches not in {SHARED_DATA_DIR}")
def test_sotu_dates_smoke(tmp_path):
  driver = load_driver("sotu_dates")
  code = driver.main(["--smoke", "--quiet", "--output", str(tmp_path), "--data-dir", str(SOTU)])
  assert code == 0
  payload = read_results(tmp_path)
  assert payload["documents"] == 102
  assert payload["members"]["hard_cut"] == 82
  assert "never overlap in year" in payload["hard_cut"]["default"]
  assert "No overlap region" in payload["hard_cut"]["trim_support"]
  assert {"naive", "ipw", "gformula", "aipw"} <= set(payload["by_year"])
