"""Small symmetric positive-definite solves written in plain array operations.

Cholesky factorizations of a few rows are unrolled into elementwise
operations instead of calling LAPACK. jaxlib 0.10.2's CPU LAPACK kernels
split a batch over XLA's intra-op thread pool and block until it finishes.
Two such calls running at once, such as a batch of 4 x 4 model fits next to
the batched ridge solves, occupied both threads of a 2-core machine and
hung. Plain array operations do not block.
"""

import jax.numpy as jnp


def solve_spd(matrix, rhs):
  """Solves `matrix @ x = rhs` for a small SPD `matrix` `[n, n]`; `rhs` is `[n]` or `[n, k]`.

  The size n must be static and small (the factorization is unrolled, O(n^3) operations).
  """
  size = matrix.shape[0]
  lower = [[None] * size for _ in range(size)]
  for i in range(size):
    for j in range(i + 1):
      total = matrix[i, j] - sum(lower[i][k] * lower[j][k] for k in range(j))
      lower[i][j] = jnp.sqrt(total) if i == j else total / lower[j][j]

  # Forward substitution L y = rhs, then back substitution L' x = y.
  forward = []
  for i in range(size):
    forward.append((rhs[i] - sum(lower[i][k] * forward[k] for k in range(i))) / lower[i][i])
  backward = [None] * size
  for i in reversed(range(size)):
    partial = forward[i] - sum(lower[k][i] * backward[k] for k in range(i + 1, size))
    backward[i] = partial / lower[i][i]
  return jnp.stack(backward)
