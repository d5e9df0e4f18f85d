"""The `causalmia` command line. It only parses arguments and calls the library."""

import argparse
import dataclasses
import sys

from causalmia import cli_estimate
from causalmia import cli_sweep
from causalmia import config as config_lib


def _run(args) -> int:
  from causalmia import experiment  # Deferred: importing JAX is slow for `--help`.

  config = config_lib.load(args.config) if args.config else experiment.default_config()
  if args.smoke:
    config = dataclasses.replace(config, smoke=True)
  multi, one, output_dir = experiment.run(config, args.output, show_progress=not args.quiet)
  print()
  print(multi.table())
  print()
  print(one.table())
  print(f"\nResults written to {output_dir}/")
  return 0


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="causalmia",
      description="Membership inference measured as a causal effect of training-set inclusion.",
  )
  commands = parser.add_subparsers(dest="command", required=True)

  run = commands.add_parser(
      "run", help="train many models under randomized inclusion and estimate the causal ROC")
  run.add_argument("--config", help="experiment config (.json or .toml); default: "
                   "64 MLPs on scikit-learn's digits under Bernoulli(1/2) inclusion")
  run.add_argument("--output", help="results folder (default: results/<config name>)")
  run.add_argument("--smoke", action="store_true",
                   help="shrink runs, steps and replicates to check the pipeline in seconds")
  run.add_argument("--quiet", action="store_true", help="hide progress bars")
  run.set_defaults(handler=_run)
  cli_sweep.add_parser(commands)
  cli_estimate.add_parser(commands)
  return parser


def main(argv=None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  try:
    return args.handler(args)
  except (ValueError, FileNotFoundError) as error:
    print(f"causalmia: error: {error}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
