"""Benchmark: B bootstrap AUCs over n scores, against a loop of scikit-learn.

causalmia sorts the scores once and evaluates every replicate as a weight
vector over that order (`causalmia.estimate.bootstrap`). The reference
resamples the data and calls `sklearn.metrics.roc_auc_score` per replicate,
as a plain bootstrap loop does. It is timed on a subset of replicates and
scaled to B. Peak memory of causalmia's path is O(n + B): replicates are
evaluated a few at a time and only their metric values are kept.

Run:
  python tools/bench_metrics.py                 # n = 10^6, B = 1000
  python tools/bench_metrics.py --json          # one JSON object
"""

import argparse
import json
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.metrics import roc_auc_score

from causalmia.estimate import bootstrap
from causalmia.metrics import _kernel


def _causalmia_seconds(scores, members, replicates, resampling):
  sorted_scores = jax.jit(_kernel.sort_scores)(jnp.asarray(scores), jnp.asarray(members))
  sampler = bootstrap.example_sampler(sorted_scores.members, resampling)
  key = jax.random.key(0)
  chunk = 100

  # Compile on the real shapes first; the timed call reuses the executable.
  bootstrap.replicate_metrics(key, sorted_scores, sampler, chunk, fprs=(), convention="step",
                              chunk=chunk)
  start = time.perf_counter()
  values = bootstrap.replicate_metrics(key, sorted_scores, sampler, replicates, fprs=(),
                                       convention="step", chunk=chunk)
  return time.perf_counter() - start, values[:, 0]


def _sklearn_seconds(scores, members, replicates, timed):
  rng = np.random.default_rng(0)
  member_rows, nonmember_rows = np.flatnonzero(members), np.flatnonzero(~members)
  start = time.perf_counter()
  for _ in range(timed):
    rows = np.concatenate([rng.choice(member_rows, member_rows.size),
                           rng.choice(nonmember_rows, nonmember_rows.size)])
    roc_auc_score(members[rows], scores[rows])
  return (time.perf_counter() - start) / timed * replicates


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--examples", type=int, default=1_000_000, help="scores n")
  parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates B")
  parser.add_argument("--sklearn-replicates", type=int, default=10,
                      help="replicates timed for scikit-learn, scaled to B")
  parser.add_argument("--json", action="store_true", help="print one JSON object")
  args = parser.parse_args(argv)

  rng = np.random.default_rng(0)
  members = rng.random(args.examples) < 0.5
  scores = (rng.normal(size=args.examples) + 0.5 * members).astype(np.float32)

  report = {"examples": args.examples, "replicates": args.replicates,
            "device": jax.devices()[0].device_kind, "backend": jax.default_backend()}
  sklearn_seconds = _sklearn_seconds(scores, members, args.replicates, args.sklearn_replicates)
  report["sklearn_loop_seconds_scaled"] = sklearn_seconds
  for resampling in ("multinomial", "poisson"):
    seconds, aucs = _causalmia_seconds(scores, members, args.replicates, resampling)
    report[f"causalmia_{resampling}_seconds"] = seconds
    report[f"speedup_{resampling}_vs_sklearn"] = sklearn_seconds / seconds
    report[f"bootstrap_se_{resampling}"] = float(np.std(aucs))
  # ru_maxrss is in KiB on Linux.
  report["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

  if args.json:
    print(json.dumps(report))
    return 0
  print(f"B = {args.replicates} bootstrap AUCs over n = {args.examples:,} scores "
        f"({report['backend']})")
  print(f"  scikit-learn loop (scaled from {args.sklearn_replicates}): {sklearn_seconds:8.1f} s")
  for resampling in ("multinomial", "poisson"):
    print(f"  causalmia, {resampling:<11} resampling: "
          f"{report[f'causalmia_{resampling}_seconds']:8.1f} s   "
          f"{report[f'speedup_{resampling}_vs_sklearn']:6.1f}x faster   "
          f"bootstrap SE {report[f'bootstrap_se_{resampling}']:.2e}")
  print(f"  peak resident memory: {report['peak_rss_mib']:.0f} MiB")
  return 0


if __name__ == "__main__":
  sys.exit(main())
