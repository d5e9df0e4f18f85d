"""The `causalmia sweep` subcommand: parse a sweep config and grid overrides, then run it."""

import argparse
import dataclasses
from pathlib import Path


def parse_assignment(text: str) -> tuple[str, list[str]]:
  """Splits `axis=v1,v2,...` into the axis and its values (still strings)."""
  axis, separator, values = text.partition("=")
  axis = axis.strip()
  items = [v.strip() for v in values.split(",")]
  if not separator or not axis or not all(items):
    raise ValueError(f"--set expects axis=value1,value2,... with no empty value, got {text!r}.")
  return axis, items


def _number(text: str):
  try:
    return int(text)
  except ValueError:
    try:
      return float(text)
    except ValueError as error:
      raise ValueError(f"--set value {text!r} is not a number.") from error


def _run(args) -> int:
  from causalmia import sweep  # Deferred: importing JAX is slow for `--help`.

  config = sweep.load_config(args.config) if args.config else sweep.SweepConfig()
  overrides = {}
  for assignment in args.set or ():
    axis, values = parse_assignment(assignment)
    overrides[axis] = [_number(v) for v in values]
  config = sweep.with_grid(config, overrides)
  if args.chunk_size is not None:
    config = dataclasses.replace(config, chunk_size=args.chunk_size)
  output_dir = Path(args.output or Path("results") / config.name)
  settings = sweep.expand(config)
  print(f"Sweep {config.name!r}: {len(settings)} setting(s); the first call of each shape "
        "compiles (slow).")
  results = sweep.run_sweep(config, output_dir, show_progress=not args.quiet)
  print()
  print(format_table(config, results))
  print(f"\nResults written to {output_dir}/")
  return 0


def format_table(config, results) -> str:
  """Format one line per setting: the varied axes, AUCs, interference bias, beta and the bound."""
  axes = [axis for axis, _ in config.grid]
  header = "".join(f"{a:>16}" for a in axes)
  lines = [header + f"{'design auc':>12}{'no-int. auc':>12}{'bias':>9}{'beta':>10}{'bound':>10}"]
  for result in results:
    setting = result["setting"]
    row = "".join(f"{setting[a]:>16g}" for a in axes)
    design = result["multi_run"]["auc"]
    reference = result["no_interference"]["auc"]
    bias = result["interference_bias"]["auc"]
    row += (f"{_fmt(design):>12}{_fmt(reference):>12}{_fmt(bias, '+.4f'):>9}"
            f"{result['stability']:>10.3g}{result['bound']:>10.3g}")
    lines.append(row)
  return "\n".join(lines)


def _fmt(value, spec: str = ".4f") -> str:
  return "nan" if value is None else format(value, spec)


def add_parser(commands) -> argparse.ArgumentParser:
  """Adds the `sweep` subcommand to the subparsers object `commands`."""
  parser = commands.add_parser(
      "sweep", help="evaluate a grid of ridge settings (p, N, lambda, R) in compiled batches")
  parser.add_argument("--config", help="sweep config (.json or .toml); default: one ridge "
                      "setting with p = 0.5, N = 256, lambda = 1, R = 32")
  parser.add_argument("--set", action="append", metavar="AXIS=V1,V2,...",
                      help="vary AXIS over the listed values (repeatable), e.g. "
                      "inclusion_rate=0.1,0.5; axes: inclusion_rate, regularization, "
                      "num_examples, runs, num_features, num_base, noise_std, num_groups, "
                      "data_seed")
  parser.add_argument("--output", help="results folder (default: results/<sweep name>); a "
                      "folder with saved settings resumes the sweep")
  parser.add_argument("--chunk-size", type=int, help="settings per compiled call")
  parser.add_argument("--quiet", action="store_true", help="hide the progress bar")
  parser.set_defaults(handler=_run)
  return parser
