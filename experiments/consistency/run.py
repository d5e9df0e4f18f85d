"""Consistency curves of the multi-run, one-run and corrected one-run estimates on ridge.

For each pool size N in config.json, with the base set, features and
penalty growing in proportion to N (so that one example's leverage, and
the interference bias, stay of the same order as N grows):

1. the truths: the no-interference estimand, exactly, from the N
   leave-one-in runs, and the design estimand at rate p from many runs;
2. per repetition: one-run models at the K extrapolation rates (the last
   one, p, is the plain one-run estimate), their design-rate extrapolation
   to p = 0, the exposure-adjusted estimate of the rate-p run (same-group
   kernel), and a multi-run estimate from R runs at rate p;
3. the absolute error of every estimate, averaged over the repetitions with
   its standard error, against N on log-log axes, next to N^-1/2 and the
   interference-bias floor |design - no-interference|; and the multi-run
   error against R at one N, next to R^-1/2.

Usage, from the repository root:

    .venv/bin/python experiments/consistency/run.py            # writes paper/interference/consistency/
    .venv/bin/python experiments/consistency/run.py --smoke --output /tmp/consistency
"""

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from causalmia import results_io
from causalmia.data.synthetic import make_ridge_family
from causalmia.interference import _metrics
from causalmia.interference import exposure as exposure_lib
from causalmia.interference import extrapolation
from causalmia.interference import ridge
from causalmia.metrics import summary

from causalmia.interference.studies import load_settings, mean_and_error, plot_errors, slope

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("config.json")


def build_problem(settings: dict, num_examples: int):
  """Build the ridge problem at pool size N, sized by the config's ratios, with its group ids."""
  features = max(4, round(settings["feature_ratio"] * num_examples))
  groups = max(1, features // settings["features_per_group"])
  features = groups * settings["features_per_group"]
  base, audit, _ = make_ridge_family(
      settings["seed"], num_base=max(1, round(settings["base_ratio"] * num_examples)),
      num_audit=num_examples, num_features=features, noise_std=settings["noise_std"],
      num_groups=groups)
  labels = jnp.asarray(audit.covariates[:, 0].astype(np.int32))
  return ridge.problem_from_datasets(base, audit), labels, groups


def _repetition(key, problem, labels, regularization, *, rates, multi_runs, num_groups, fprs):
  num_examples = problem.inputs.shape[0]
  rate_key, multi_key = jax.random.split(key)
  masks = extrapolation.rate_masks(rate_key, jnp.asarray(rates), num_examples)
  multi_masks = ridge.bernoulli_masks(multi_key, rates[-1], multi_runs, num_examples)
  # All runs of a repetition in one batched solve: see `ridge.after`.
  every_score = ridge.run_scores(problem, jnp.concatenate([masks, multi_masks]), regularization)
  scores, multi_scores = every_score[: len(rates)], every_score[len(rates):]
  per_rate = _metrics.one_run_metrics(scores, masks, fprs, "step")
  extrapolated = extrapolation.polynomial_fit(jnp.asarray(rates), per_rate.T, 1)[:, 0]

  exposure = exposure_lib.same_class_exposure(masks[-1], labels, num_groups)
  adjusted, _ = exposure_lib.adjusted_metrics(
      exposure_lib.to_model_scale(scores[-1], "log_loss"), masks[-1], exposure, 0.0, fprs, "step")

  return {"one_run": per_rate[-1], "extrapolated": extrapolated, "exposure": adjusted,
          "multi_run": _metrics.pooled_metrics(multi_scores, multi_masks, fprs, "step")}


# Repetitions are vmapped in chunks, the chunks looped on the host.
_chunk_fn = jax.jit(
    lambda keys, problem, labels, regularization, **options: jax.vmap(
        lambda k: _repetition(k, problem, labels, regularization, **options))(keys),
    static_argnames=("rates", "multi_runs", "num_groups", "fprs"))


def repetitions_fn(keys, problem, labels, regularization, *, chunk, **options):
  """`_repetition` for every key, `chunk` keys per compiled call (the last chunk padded)."""
  count = keys.shape[0]
  parts = []
  for first in range(0, count, chunk):
    indices = np.minimum(np.arange(first, first + chunk), count - 1)
    part = jax.device_get(_chunk_fn(keys[indices], problem, labels, regularization, **options))
    parts.append(jax.tree.map(lambda a: a[: count - first], part))
  return jax.tree.map(lambda *a: np.concatenate(a), *parts)


def _truths(key, problem, regularization, *, rate, runs, batch, fprs):
  masks = ridge.bernoulli_masks(key, rate, runs, problem.inputs.shape[0])
  scores = ridge.run_scores(problem, masks, regularization, batch_size=batch)
  loo = ridge.leave_one_in(ridge.after(problem, scores), regularization)
  members = jnp.arange(2 * problem.inputs.shape[0]) < problem.inputs.shape[0]
  return (_metrics.pooled_metrics(scores, masks, fprs, "step"),
          _metrics.point_metrics(jnp.concatenate([loo.own_scores, loo.base_scores]), members,
                                 fprs, "step"))


truths_fn = jax.jit(_truths, static_argnames=("rate", "runs", "batch", "fprs"))


def _multi_run_curve(key, problem, regularization, *, rate, runs, fprs):
  masks = ridge.bernoulli_masks(key, rate, max(runs), problem.inputs.shape[0])
  scores = ridge.run_scores(problem, masks, regularization)
  return jnp.stack([_metrics.pooled_metrics(scores[:r], masks[:r], fprs, "step") for r in runs])


_curve_fn = jax.jit(
    lambda keys, problem, regularization, **options: jax.vmap(
        lambda k: _multi_run_curve(k, problem, regularization, **options))(keys),
    static_argnames=("rate", "runs", "fprs"))


def multi_run_curve_fn(keys, problem, regularization, *, chunk, **options):
  """`_multi_run_curve` for every key, `chunk` keys per compiled call."""
  count = keys.shape[0]
  parts = []
  for first in range(0, count, chunk):
    indices = np.minimum(np.arange(first, first + chunk), count - 1)
    part = np.asarray(_curve_fn(keys[indices], problem, regularization, **options))
    parts.append(part[: count - first])
  return np.concatenate(parts)


def run_pool_sizes(settings: dict, log=print) -> list[dict]:
  """Truths and per-repetition estimates at every pool size, summarized as errors."""
  fprs = (settings["fpr"],)
  rates = tuple(settings["extrapolation_rates"])
  rate = rates[-1]
  root = jax.random.key(settings["seed"])
  rows = []
  for num_examples in settings["pool_sizes"]:
    start = time.perf_counter()
    problem, labels, groups = build_problem(settings, num_examples)
    regularization = settings["regularization_ratio"] * num_examples
    oracle_runs = max(settings["oracle_min_runs"], settings["oracle_rows"] // num_examples)
    design, reference = jax.device_get(truths_fn(
        jax.random.fold_in(root, 1), problem, regularization, rate=rate, runs=oracle_runs,
        batch=settings["oracle_batch"], fprs=fprs))
    keys = jax.vmap(lambda r: jax.random.fold_in(jax.random.fold_in(root, 2), r))(
        jnp.arange(settings["repetitions"]))
    estimates = repetitions_fn(
        keys, problem, labels, regularization, chunk=settings["repetition_chunk"], rates=rates,
        multi_runs=settings["multi_run_runs"], num_groups=groups, fprs=fprs)
    rows.append(_summarize(num_examples, design, reference, estimates, oracle_runs, fprs))
    log(f"N = {num_examples}: no-interference AUC {reference[0]:.4f}, design AUC "
        f"{design[0]:.4f} ({oracle_runs} runs), {time.perf_counter() - start:.1f} s")
  return rows


def _summarize(num_examples, design, reference, estimates, oracle_runs, fprs) -> dict:
  names = summary.metric_names(fprs)
  row = {"num_examples": num_examples, "oracle_runs": oracle_runs,
         "design": dict(zip(names, map(float, design))),
         "no_interference": dict(zip(names, map(float, reference))), "estimators": {}}
  for estimator, values in estimates.items():
    values = np.asarray(values, np.float64)
    entry = {}
    for m, name in enumerate(names):
      column = values[:, m]
      entry[name] = {
          "mean": mean_and_error(column),
          "error_vs_no_interference": mean_and_error(np.abs(column - reference[m])),
          "error_vs_design": mean_and_error(np.abs(column - design[m])),
          "bias_vs_no_interference": mean_and_error(column - reference[m]),
      }
    row["estimators"][estimator] = entry
  return row


def run_runs_curve(settings: dict, log=print) -> dict:
  """Multi-run error against R at one pool size."""
  fprs = (settings["fpr"],)
  curve = settings["runs_curve"]
  runs = tuple(curve["runs"])
  num_examples = curve["num_examples"]
  problem, _, _ = build_problem(settings, num_examples)
  regularization = settings["regularization_ratio"] * num_examples
  rate = settings["extrapolation_rates"][-1]
  root = jax.random.key(settings["seed"])
  oracle_runs = max(settings["oracle_min_runs"], curve["oracle_rows"] // num_examples)
  design, reference = jax.device_get(truths_fn(
      jax.random.fold_in(root, 3), problem, regularization, rate=rate, runs=oracle_runs,
      batch=settings["oracle_batch"], fprs=fprs))

  keys = jax.vmap(lambda r: jax.random.fold_in(jax.random.fold_in(root, 4), r))(
      jnp.arange(settings["repetitions"]))
  values = np.asarray(multi_run_curve_fn(
      keys, problem, regularization, chunk=settings["repetition_chunk"], rate=rate, runs=runs,
      fprs=fprs), np.float64)

  names = summary.metric_names(fprs)
  result = {"num_examples": num_examples, "oracle_runs": oracle_runs, "runs": list(runs),
            "design": dict(zip(names, map(float, design))),
            "no_interference": dict(zip(names, map(float, reference))), "metrics": {}}
  for m, name in enumerate(names):
    result["metrics"][name] = {
        "error_vs_design": [mean_and_error(np.abs(values[:, i, m] - design[m]))
                            for i in range(len(runs))],
        "error_vs_no_interference": [mean_and_error(np.abs(values[:, i, m] - reference[m]))
                                     for i in range(len(runs))],
    }
  log(f"R curve at N = {num_examples}: design AUC {design[0]:.4f} ({oracle_runs} runs)")
  return result


def fit_slopes(rows: list[dict], runs_curve: dict, names) -> dict:
  """Log-log slopes of the errors that should fall at the reference rates."""
  sizes = np.array([row["num_examples"] for row in rows], float)
  slopes = {}
  for name in names:
    for estimator in ("one_run", "multi_run"):
      errors = [row["estimators"][estimator][name]["error_vs_design"] for row in rows]
      slopes[f"{estimator} vs design, {name}, against N"] = slope(sizes, errors)
    for estimator in ("extrapolated", "exposure", "one_run"):
      errors = [row["estimators"][estimator][name]["error_vs_no_interference"] for row in rows]
      slopes[f"{estimator} vs no-interference, {name}, against N"] = slope(sizes, errors)
    runs = np.array(runs_curve["runs"], float)
    slopes[f"multi_run vs design, {name}, against R"] = slope(
        runs, runs_curve["metrics"][name]["error_vs_design"])
  return slopes


def draw_figures(rows, runs_curve, names, output: Path) -> list[str]:
  sizes = np.array([row["num_examples"] for row in rows], float)
  paths = []
  for name in ("auc", names[-1]):
    floor = np.array([abs(row["design"][name] - row["no_interference"][name]) for row in rows])
    series = []
    for estimator, label, target, style in (
        ("multi_run", "multi-run vs design", "error_vs_design", "C0--"),
        ("one_run", "one-run vs design", "error_vs_design", "C1--"),
        ("one_run", "one-run vs no-interference", "error_vs_no_interference", "C1-"),
        ("extrapolated", "extrapolated vs no-interference", "error_vs_no_interference", "C2-"),
        ("exposure", "exposure-adjusted vs no-interference", "error_vs_no_interference", "C3-"),
        ("multi_run", "multi-run vs no-interference", "error_vs_no_interference", "C0-")):
      points = [row["estimators"][estimator][name][target] for row in rows]
      series.append((label, style, points))
    count = rows[0]["estimators"]["one_run"][name]["error_vs_design"]["count"]
    paths.append(plot_errors(
        output / f"consistency_N_{_slug(name)}.png", sizes, series, floor=floor,
        reference_exponent=-0.5, reference_series=(0, 1), xlabel="pool size N",
        title=f"{name}: mean absolute error +- SE over {count} repetitions, against N",
        reference_label="N^-1/2"))

    runs = np.array(runs_curve["runs"], float)
    metric = runs_curve["metrics"][name]
    floor_r = np.full(runs.shape, abs(runs_curve["design"][name]
                                      - runs_curve["no_interference"][name]))
    series = [("multi-run vs design", "C0--", metric["error_vs_design"]),
              ("multi-run vs no-interference", "C0-", metric["error_vs_no_interference"])]
    paths.append(plot_errors(
        output / f"consistency_R_{_slug(name)}.png", runs, series, floor=floor_r,
        reference_exponent=-0.5, xlabel="runs R", reference_label="R^-1/2",
        title=f"{name}: multi-run error against R (N = {runs_curve['num_examples']})",
        reference_series=(0,)))
  return paths


def _slug(name: str) -> str:
  return name.replace("@", "_at_").replace(".", "p")


def replot(output: Path) -> list[str]:
  """Redraws the figures from a saved results.json, without recomputing."""
  payload = json.loads((output / "results.json").read_text())
  names = summary.metric_names((payload["settings"]["fpr"],))
  return draw_figures(payload["pool_sizes"], payload["runs_curve"], names, output)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default=str(CONFIG), help="settings file (JSON)")
  parser.add_argument("--output", help="results and figures folder "
                      "(default: paper/interference/consistency)")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the pipeline")
  parser.add_argument("--replot", action="store_true",
                      help="redraw the figures from the results.json in the output folder")
  args = parser.parse_args(argv)
  settings = load_settings(Path(args.config), args.smoke)
  output = Path(args.output or REPOSITORY / "paper" / "interference" / "consistency")
  if args.replot:
    replot(output)
    return 0

  start = time.perf_counter()
  print("Compiling the ridge programs (the first call of each pool size is slow)...")
  rows = run_pool_sizes(settings)
  runs_curve = run_runs_curve(settings)
  names = summary.metric_names((settings["fpr"],))
  slopes = fit_slopes(rows, runs_curve, names)
  figures = draw_figures(rows, runs_curve, names, output)
  results_io.write_json(output / "results.json", {
      "settings": settings, "pool_sizes": rows, "runs_curve": runs_curve, "slopes": slopes,
      "figures": [Path(f).name for f in figures],
      "elapsed_seconds": time.perf_counter() - start,
      "versions": results_io.package_versions()})
  for key, value in slopes.items():
    if value["slope"] is not None:
      print(f"slope {key}: {value['slope']:+.3f} +- {value['standard_error']:.3f}")
  print(f"Results written to {output}/ in {time.perf_counter() - start:.0f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
