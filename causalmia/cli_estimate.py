"""The `causalmia estimate` subcommand: zero-run estimates from a file of scores computed elsewhere.

It reads the file, runs the naive comparison and the chosen adjusted
estimator, and prints both side by side with the overlap diagnostics. The
results folder has the layout of `causalmia run`: results.json, ROC figures
on linear and log-log axes, the propensity histogram, curves.npz and
per_example.npz.
"""

import argparse
import time
from pathlib import Path

METHODS = ("naive", "ipw", "gformula", "aipw")


def _split_columns(text: str | None) -> list[str]:
  if not text:
    return []
  names = [name.strip() for name in text.split(",")]
  if not all(names):
    raise ValueError(f"--covariates expects COL,COL,... with no empty name, got {text!r}.")
  return names


def _parse_bounds(text: str | None, option: str):
  if text is None:
    return None
  parts = [part.strip() for part in text.split(",")]
  try:
    values = [float(part) for part in parts]
  except ValueError as error:
    raise ValueError(f"{option} expects ETA or LOW,HIGH as numbers, got {text!r}.") from error
  if len(values) == 1:
    return values[0]
  if len(values) == 2:
    return tuple(values)
  raise ValueError(f"{option} expects ETA or LOW,HIGH, got {text!r}.")


def _parse_trim(text: str | None):
  if text is None or text == "support":
    return text
  try:
    return float(text)
  except ValueError as error:
    raise ValueError(f"--trim expects 'support' or a number ALPHA, got {text!r}.") from error


def _estimate(args) -> int:
  # Deferred: importing JAX is slow for `--help`.
  from tqdm.auto import tqdm

  from causalmia import tabular
  from causalmia.estimate import zero_run

  start = time.perf_counter()
  table = tabular.load_score_table(
      args.scores_file, member_column=args.member_column,
      covariate_columns=_split_columns(args.covariates), score_column=args.score_column,
      higher_is_member=not args.lower_is_member, propensity_column=args.propensity_column)
  options = dict(
      fpr=tuple(args.fpr), convention=args.convention, confidence=args.confidence,
      num_replicates=args.replicates, seed=args.seed)
  adjusted_options = dict(
      method=args.method, target=args.target, propensity=table.propensity,
      propensity_model=args.propensity_model, outcome_model=args.outcome_model,
      folds=args.folds, clip=_parse_bounds(args.clip, "--clip"), trim=_parse_trim(args.trim),
      thresholds=args.thresholds, interval=args.interval,
      covariate_names=table.covariate_names or None, **options)
  print(f"Read {len(table)} rows from {table.source}: {int(table.members.sum())} members, "
        f"{int((~table.members).sum())} non-members; covariates: "
        f"{', '.join(table.covariate_names) or 'none'}.")
  print("Fitting and bootstrapping (the first call of each shape compiles, which is slow)...")

  total = args.replicates * (1 if args.method == "naive" else 2)
  with tqdm(total=total, desc="bootstrap", unit="replicate", disable=args.quiet) as bar:
    naive = zero_run(table.scores, table.members, table.covariates, method="naive",
                     covariate_names=table.covariate_names or None, progress=bar.update,
                     **options)
    adjusted = naive
    if args.method != "naive":
      adjusted = zero_run(table.scores, table.members, table.covariates,
                          progress=bar.update, **adjusted_options)
  naive_all_rows = naive
  kept = adjusted.per_example.get("kept")
  if kept is not None:
    # Trimming changed the population: compare with the naive numbers on the same rows.
    naive = zero_run(table.scores[kept], table.members[kept],
                     None if table.covariates is None else table.covariates[kept],
                     method="naive", covariate_names=table.covariate_names or None, **options)
    print(f"The naive column is restricted to the {int(kept.sum())} rows kept by --trim; on "
          f"all rows the naive AUC is {naive_all_rows['auc'].value:.4f}.")

  print()
  print(format_comparison(naive, adjusted, args.method))
  print()
  print(format_diagnostics(adjusted))
  output_dir = Path(args.output or Path("results") / f"{Path(table.source).stem}-{args.method}")
  write_results(output_dir, table, naive, adjusted, args, time.perf_counter() - start,
                naive_all_rows=naive_all_rows)
  print(f"\nResults written to {output_dir}/")
  return 0


def format_comparison(naive, adjusted, method: str) -> str:
  """Formats the metrics of the naive and the adjusted estimate side by side, with intervals."""
  level = f"{100 * adjusted.confidence:g}% CI"
  header = f"  {'metric':<18}{'naive':>10}  {level:<20}{method:>10}  {level}"
  lines = [f"zero-run: {adjusted.estimand}", header]
  for name, metric in adjusted.metrics.items():
    reference = naive.metrics[name]
    label = name + (f" ({metric.convention})" if metric.convention else "")
    flag = "  below resolution" if metric.below_resolution else ""
    lines.append(f"  {label:<18}{_fmt(reference.value):>10}  {_interval(reference):<20}"
                 f"{_fmt(metric.value):>10}  {_interval(metric)}{flag}")
  lines.append(f"  intervals: {adjusted.interval_method}")
  counts = ", ".join(f"{k}={v}" for k, v in adjusted.counts.items())
  lines.append(f"  counts: {counts}")
  lines.extend(f"  note: {note}" for note in adjusted.notes)
  return "\n".join(lines)


def format_diagnostics(result) -> str:
  """Formats effective sample sizes, propensity spread, balance and projection as text."""
  diagnostics = result.diagnostics
  lines = ["diagnostics:"]

  ess = diagnostics.get("effective_sample_size")
  rows = diagnostics.get("rows")
  if ess and rows:
    lines.append(f"  effective sample size: members {ess['members']:.1f} of {rows['members']}, "
                 f"non-members {ess['nonmembers']:.1f} of {rows['nonmembers']}")
  quantiles = diagnostics.get("propensity_quantiles")
  if quantiles:
    for group, values in quantiles.items():
      shown = ", ".join(f"q{q}={values[q]:.3f}" for q in ("0", "0.05", "0.5", "0.95", "1"))
      lines.append(f"  propensity of {group}: {shown}")

  for key, value in diagnostics.items():
    if key.startswith("share_propensity_outside_"):
      low, high = key.removeprefix("share_propensity_outside_").split("_")
      lines.append(f"  share of rows with propensity outside [{low}, {high}]: {value:.3f}")
  propensity = diagnostics.get("propensity")
  if propensity:
    lines.append(f"  propensity source: {propensity['source']}")
    if propensity.get("clipped"):
      clipped = propensity["clipped"]
      lines.append(f"  clipped to {propensity['clip']}: {clipped['members']} member and "
                   f"{clipped['nonmembers']} non-member row(s)")

  for name, smd in diagnostics.get("standardized_mean_differences", {}).items():
    lines.append(f"  standardized mean difference of {name}: {smd['unweighted']:+.3f} "
                 f"unweighted, {smd['weighted']:+.3f} weighted")
  projection = diagnostics.get("projection")
  if projection:
    lines.append(f"  curve projection acted: {projection['acted']} "
                 f"(largest change {projection['max_change']:.3g})")
  return "\n".join(lines)


def write_results(output_dir, table, naive, adjusted, args, elapsed_seconds: float,
                  naive_all_rows=None) -> Path:
  """Writes results.json, ROC and propensity figures, curves.npz and per_example.npz.

  `naive_all_rows` is the naive estimate on every row when `naive` covers only
  the rows kept by trimming; it is stored as "naive_all_rows".
  """
  import numpy as np

  from causalmia import plotting
  from causalmia import propensity_plot
  from causalmia import results_io

  output_dir = Path(output_dir)
  method = args.method
  payload = {
      "estimand": adjusted.estimand,
      "input": {
          "file": table.source, "rows": len(table), "score_column": table.score_column,
          "member_column": table.member_column, "covariates": list(table.covariate_names),
          "higher_is_member": table.higher_is_member,
          "propensity_column": args.propensity_column,
      },
      "options": {
          "method": method, "target": args.target, "propensity_model": args.propensity_model,
          "outcome_model": args.outcome_model, "folds": args.folds, "clip": args.clip,
          "trim": args.trim, "thresholds": args.thresholds, "interval": args.interval,
          "fpr": list(args.fpr), "convention": args.convention,
          "confidence": args.confidence, "replicates": args.replicates, "seed": args.seed,
      },
      "results": {"naive": naive.to_dict(), method: adjusted.to_dict()},
      **({"naive_all_rows": naive_all_rows.to_dict()}
         if naive_all_rows is not None and naive_all_rows is not naive else {}),
      "elapsed_seconds": elapsed_seconds,
      "versions": results_io.package_versions(),
  }
  results_io.write_json(output_dir / "results.json", payload)

  curves = {"naive": naive.curve}
  if method != "naive":
    curves[method] = adjusted.curve
  nonmembers = int((~table.members).sum())
  plotting.save_roc_figures(curves, output_dir / "roc",
                            title=f"{Path(table.source).name}: naive and {method} ROC",
                            min_fpr=1.0 / max(nonmembers, 1))
  arrays = {}
  for label, curve in curves.items():
    arrays[f"{label}_fpr"] = curve["fpr"]
    arrays[f"{label}_tpr"] = curve["tpr"]
  results_io.write_npz(output_dir / "curves.npz", **arrays)

  per_example = {name: np.asarray(values) for name, values in adjusted.per_example.items()}
  if "propensity" in per_example:
    propensity_plot.save_propensity_histogram(
        per_example["propensity"], table.members, output_dir / "propensity_histogram.png",
        title=f"{Path(table.source).name}: propensity by group",
        clip=adjusted.diagnostics.get("propensity", {}).get("clip"))
  results_io.write_npz(output_dir / "per_example.npz", members=table.members,
                       scores=table.scores, **per_example)
  return output_dir


def _fmt(value) -> str:
  return "nan" if value is None or value != value else f"{value:.4f}"


def _interval(metric) -> str:
  return f"[{_fmt(metric.ci_low)}, {_fmt(metric.ci_high)}]"


def add_parser(commands) -> argparse.ArgumentParser:
  """Adds the `estimate` subcommand to the subparsers object `commands`."""
  parser = commands.add_parser(
      "estimate",
      help="causal ROC of one model from a file of scores and non-random membership",
      description="Estimates the causal ROC, AUC, TPR at FPR and advantage of one trained "
      "model from per-example scores computed elsewhere, adjusting for the covariates that "
      "drove membership (IPW, G-formula or doubly robust AIPW), next to the naive comparison.")

  parser.add_argument("scores_file", metavar="SCORES_FILE",
                      help="CSV, TSV, NPZ, JSON lines or Parquet file with one row per example")
  parser.add_argument("--member-column", required=True,
                      help="column of membership: 0/1 or true/false")
  parser.add_argument("--covariates", metavar="COL,COL,...",
                      help="numeric columns that drove membership (e.g. year,source_id)")
  parser.add_argument("--score-column", default="score", help="column of scores (default: score)")
  direction = parser.add_mutually_exclusive_group()
  direction.add_argument("--higher-is-member", action="store_true",
                         help="larger scores are more member-like (the default)")
  direction.add_argument("--lower-is-member", action="store_true",
                         help="smaller scores are more member-like, e.g. a loss; they are negated")

  parser.add_argument("--method", choices=METHODS, default="aipw",
                      help="adjusted estimator (default: aipw)")
  parser.add_argument("--target", choices=("pool", "members"), default="pool",
                      help="population of the estimand: all rows or the members (default: pool)")
  parser.add_argument("--propensity-column",
                      help="column of known propensities P(member | x); skips the fit")
  parser.add_argument("--propensity-model", choices=("logistic", "mlp", "cells"),
                      default="logistic",
                      help="propensity model; 'cells' is the member share among rows with "
                      "identical covariates (default: logistic)")
  parser.add_argument("--outcome-model", choices=("distribution", "gaussian"),
                      default="distribution", help="outcome model (default: distribution)")
  parser.add_argument("--folds", type=int, default=5, help="cross-fitting folds (default: 5)")
  parser.add_argument("--clip", metavar="ETA|LOW,HIGH",
                      help="clip propensities to [ETA, 1-ETA] or [LOW, HIGH]; proceeds past "
                      "positivity failures but marks the result as not causal")
  parser.add_argument("--trim", metavar="support|ALPHA",
                      help="estimate on the overlap region: drop rows outside the common "
                      "support, or with propensity outside [ALPHA, 1-ALPHA]")

  parser.add_argument("--thresholds", type=int, default=100,
                      help="threshold grid size of the G-formula and AIPW curves (default: 100)")
  parser.add_argument("--interval", choices=("bootstrap", "influence"), default="bootstrap",
                      help="bootstrap with nuisance refits, or influence functions (aipw only)")
  parser.add_argument("--replicates", type=int, default=200,
                      help="bootstrap replicates (default: 200; 0 skips the intervals)")
  parser.add_argument("--fpr", type=float, nargs="+", default=[0.01, 0.001],
                      help="false-positive rates for TPR at FPR (default: 0.01 0.001)")
  parser.add_argument("--convention", choices=("step", "hull"), default="step",
                      help="TPR at FPR convention (default: step)")
  parser.add_argument("--confidence", type=float, default=0.95,
                      help="interval coverage (default: 0.95)")

  parser.add_argument("--seed", type=int, default=0, help="seed of folds, models and bootstrap")
  parser.add_argument("--output", help="results folder (default: results/<file stem>-<method>)")
  parser.add_argument("--quiet", action="store_true", help="hide progress bars")
  parser.set_defaults(handler=_estimate)
  return parser
