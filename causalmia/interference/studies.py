"""Helpers shared by the interference studies: settings files, means with errors, slopes, plots."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # Files only: no display is needed or assumed.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from causalmia import results_io  # noqa: E402


def load_settings(path: Path, smoke: bool) -> dict:
  """Reads a study's JSON settings; with `smoke`, its "smoke" table overrides the values it names."""
  settings = json.loads(Path(path).read_text(encoding="utf-8"))
  overrides = settings.pop("smoke", {})
  if smoke:
    for key, value in overrides.items():
      if isinstance(value, dict) and isinstance(settings.get(key), dict):
        settings[key] = {**settings[key], **value}
      else:
        settings[key] = value
  return settings


def mean_and_error(values) -> dict:
  """Mean of the finite values with its standard error `sd / sqrt(n)` and the count n."""
  values = np.asarray(values, np.float64)
  values = values[np.isfinite(values)]
  if values.size == 0:
    return {"mean": None, "standard_error": None, "count": 0}
  error = float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else None
  return {"mean": float(values.mean()), "standard_error": error, "count": int(values.size)}


def slope(x, points: list[dict]) -> dict:
  """Weighted least-squares slope of log(mean) against log(x), with its standard error.

  Each point's log has standard error `se / mean` (delta method); points
  with a non-positive mean are left out.
  """
  x = np.asarray(x, np.float64)
  means = np.array([p["mean"] if p["mean"] is not None else np.nan for p in points])
  errors = np.array([p["standard_error"] if p["standard_error"] is not None else np.nan
                     for p in points])
  keep = np.isfinite(means) & (means > 0) & np.isfinite(errors) & (errors > 0)
  if keep.sum() < 2:
    return {"slope": None, "standard_error": None, "points": int(keep.sum())}
  log_x, log_y = np.log(x[keep]), np.log(means[keep])
  weights = (means[keep] / errors[keep]) ** 2
  design = np.stack([np.ones_like(log_x), log_x], axis=1)
  covariance = np.linalg.inv(design.T @ (design * weights[:, None]))
  coefficients = covariance @ design.T @ (weights * log_y)
  residuals = log_y - design @ coefficients
  # Scale by the reduced chi-square when the points scatter more than their error bars allow.
  dof = keep.sum() - 2
  scale = max(1.0, float(weights @ residuals**2) / dof) if dof > 0 else 1.0
  return {"slope": float(coefficients[1]),
          "standard_error": float(np.sqrt(covariance[1, 1] * scale)), "points": int(keep.sum())}


def plot_errors(path, x, series, *, floor=None, reference_exponent=None, reference_series=(0,),
                xlabel="", title="", reference_label="", ylabel="mean absolute error") -> str:
  """Log-log error curves with standard-error bars, reference rates and a floor.

  Args:
    path: PNG file to write.
    x: the horizontal values.
    series: `(label, matplotlib style, points)` with points from `mean_and_error`.
    floor: optional values drawn as a thick grey line: the interference bias.
    reference_exponent: slope of the reference lines.
    reference_series: indices of the series that get a reference line,
      drawn through the geometric means of their points.
    xlabel, title, reference_label, ylabel: labels.
  """
  x = np.asarray(x, np.float64)
  fig, ax = plt.subplots(figsize=(7.6, 4.4), dpi=120)
  if floor is not None:
    ax.plot(x, floor, color="0.6", lw=5, alpha=0.5, label="interference bias |design - no-int.|")
  for index, (label, style, points) in enumerate(series):
    means = np.array([p["mean"] if p["mean"] is not None else np.nan for p in points])
    errors = np.array([p["standard_error"] or 0.0 for p in points])
    ax.errorbar(x, means, yerr=errors, fmt=style, marker="o", ms=3.5, lw=1.3, capsize=2,
                label=label)
    if reference_exponent is not None and index in reference_series:
      keep = np.isfinite(means) & (means > 0)
      center_x = np.exp(np.mean(np.log(x[keep])))
      center_y = np.exp(np.mean(np.log(means[keep])))
      ax.plot(x, center_y * (x / center_x) ** reference_exponent, "k:", lw=1.0,
              label=reference_label if index == reference_series[0] else None)
  ax.set_xscale("log")
  ax.set_yscale("log")
  ax.set_xticks(x)
  ax.set_xticklabels([f"{v:g}" for v in x])
  ax.minorticks_off()
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title, fontsize=9)
  ax.grid(alpha=0.3, which="both")
  ax.legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
  fig.tight_layout()
  results_io.write_figure(path, lambda target: fig.savefig(target, format="png"))
  plt.close(fig)
  return str(path)
