"""Benchmark: training R small models three ways, in one run on one machine.

1. causalmia's trainer: `train_many`, one compiled program vmapped over runs.
2. A Python loop over the jitted `train_one`, one run at a time.
3. When PyTorch is installed, a plain sequential PyTorch loop with the same
   model, optimizer, steps and minibatch rule, the way the reference-model
   trainers of common MIA tools train shadow models.

All three draw each step's minibatch among the run's included examples.
Compilation is excluded (each path is warmed up on the same shapes first).
Achieved GFLOP/s counts 3x the forward multiply-adds of each minibatch (the
forward pass plus the two backward products), next to this machine's own
float32 matmul rate measured in the same run.

Run:
  python tools/bench_training.py                 # R = 64 and 256
  python tools/bench_training.py --runs 64 --json
"""

import argparse
import json
import sys
import time

import jax
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _timing  # noqa: E402

from causalmia import designs, models, training  # noqa: E402
from causalmia.data import load_digits  # noqa: E402

MODELS = {
    "logistic": models.ModelConfig("linear", ()),
    "mlp": models.ModelConfig("mlp", (128,)),
}


def _vmapped_seconds(key, masks, data, config):
  run = lambda: jax.block_until_ready(training.train_many(key, masks, *data, config))
  run()
  return _timing.best_seconds(run, repeats=2)


def _jitted_loop_seconds(key, masks, data, config):
  step = jax.jit(training.train_one, static_argnames=("config",))
  keys = [jax.random.fold_in(key, r) for r in range(masks.shape[0])]
  jax.block_until_ready(step(keys[0], masks[0], *data, config=config))

  def run():
    for r, run_key in enumerate(keys):
      out = step(run_key, masks[r], *data, config=config)
    jax.block_until_ready(out)

  return _timing.best_seconds(run, repeats=1)


def _torch_seconds(masks, inputs, labels, config, runs_timed):
  import torch  # Optional: only this reference needs it.

  torch.manual_seed(0)
  x = torch.from_numpy(np.array(inputs))
  y = torch.from_numpy(np.array(labels)).long()
  generator = np.random.default_rng(0)

  def build():
    if config.model.kind == "linear":
      return torch.nn.Linear(x.shape[1], 10)
    return torch.nn.Sequential(torch.nn.Linear(x.shape[1], 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 10))

  def train(r, steps):
    included = np.flatnonzero(np.asarray(masks[r]))
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    for _ in range(steps):
      batch = torch.from_numpy(generator.choice(included, config.batch_size))
      loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
      optimizer.zero_grad()
      loss.backward()
      optimizer.step()

  train(0, 5)  # PyTorch initializes its thread pool and kernels on first use.
  start = time.perf_counter()
  for r in range(runs_timed):
    train(r, config.steps)
  return (time.perf_counter() - start) / runs_timed * masks.shape[0]


def _measure(kind, runs, steps, batch_size, torch_runs):
  data_set = load_digits()
  data = (jax.numpy.asarray(data_set.inputs), jax.numpy.asarray(data_set.labels))
  config = training.TrainConfig(model=MODELS[kind], num_outputs=10, steps=steps,
                                batch_size=batch_size, learning_rate=0.01)
  masks = designs.sample_masks(jax.random.key(0), designs.Bernoulli(0.5), len(data_set), runs)
  key = jax.random.key(1)

  result = {"model": kind, "runs": runs, "steps": steps, "batch_size": batch_size}
  result["vmapped_seconds"] = _vmapped_seconds(key, masks, data, config)
  result["jitted_loop_seconds"] = _jitted_loop_seconds(key, masks, data, config)
  result["speedup_vs_jitted_loop"] = result["jitted_loop_seconds"] / result["vmapped_seconds"]
  try:
    result["torch_loop_seconds"] = _torch_seconds(masks, *data, config, min(torch_runs, runs))
    result["speedup_vs_torch_loop"] = result["torch_loop_seconds"] / result["vmapped_seconds"]
  except ImportError:
    result["torch_loop_seconds"] = None
  forward = models.count_flops_per_example(MODELS[kind], (data_set.num_features,), 10)
  flops = 3 * forward * batch_size * steps * runs
  result["vmapped_gflops"] = flops / result["vmapped_seconds"] / 1e9
  return result


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, nargs="+", default=[64, 256], help="models R")
  parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
  parser.add_argument("--steps", type=int, default=200, help="optimizer steps per model")
  parser.add_argument("--batch-size", type=int, default=128, help="minibatch per step")
  parser.add_argument("--torch-runs", type=int, default=8,
                      help="PyTorch runs timed, scaled to R")
  parser.add_argument("--json", action="store_true", help="print one JSON object")
  args = parser.parse_args(argv)

  peak = _timing.matmul_gflops()
  results = [_measure(kind, runs, args.steps, args.batch_size, args.torch_runs)
             for kind in args.models for runs in args.runs]
  for result in results:
    result["fraction_of_matmul_rate"] = result["vmapped_gflops"] / peak
  report = {"backend": jax.default_backend(), "matmul_gflops": peak, "results": results}

  if args.json:
    print(json.dumps(report))
    return 0
  print(f"float32 matmul rate of this machine: {peak:.0f} GFLOP/s ({report['backend']})")
  for r in results:
    torch_part = (f"{r['speedup_vs_torch_loop']:7.1f}x vs PyTorch loop"
                  if r.get("torch_loop_seconds") else "  (PyTorch not installed)")
    print(f"  {r['model']:<8} R={r['runs']:<4} vmapped {r['vmapped_seconds']:6.2f} s  "
          f"{r['speedup_vs_jitted_loop']:5.1f}x vs jitted loop  {torch_part}  "
          f"{r['vmapped_gflops']:6.1f} GFLOP/s ({100 * r['fraction_of_matmul_rate']:.0f}% of matmul)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
