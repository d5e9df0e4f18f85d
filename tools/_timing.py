"""Shared helpers of the benchmarks: wall-clock timing and the machine's matmul rate."""

import time

import jax
import jax.numpy as jnp


def best_seconds(fn, *, repeats: int = 3) -> float:
  """Smallest wall-clock time of `repeats` calls; `fn` must block until done."""
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
  """Measured float32 matrix-product rate of this machine in GFLOP/s.

  A jitted `size x size` product, timed after compilation, best of `repeats`.
  """
  a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
  b = jax.random.normal(jax.random.key(1), (size, size), jnp.float32)
  product = jax.jit(jnp.matmul)
  product(a, b).block_until_ready()
  seconds = best_seconds(lambda: product(a, b).block_until_ready(), repeats=repeats)
  return 2 * size**3 / seconds / 1e9
