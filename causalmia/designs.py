"""Randomized inclusion designs: which audit examples each training run includes.

A design maps a key to an inclusion mask of shape `[runs, examples]`. Run r
uses the key `fold_in(key, r)`, so any run can be regenerated alone, and a
chunk of runs gives exactly the rows of the full mask.
"""

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, PRNGKeyArray


@dataclasses.dataclass(frozen=True)
class Bernoulli:
  """Each example is included independently with probability `p`."""

  p: float

  def __post_init__(self):
    if not 0.0 < self.p < 1.0:
      raise ValueError(
          f"Bernoulli inclusion probability must lie in (0, 1), got {self.p}; "
          "with 0 or 1 one of the two groups is always empty."
      )

  def sample_one(self, key: PRNGKeyArray, num_examples: int) -> Bool[Array, " examples"]:
    return jax.random.bernoulli(key, self.p, (num_examples,))

  def inclusion_probability(self, num_examples: int) -> float:
    del num_examples
    return self.p


@dataclasses.dataclass(frozen=True)
class Complete:
  """Exactly `num_included` of the examples are included, uniformly at random."""

  num_included: int

  def __post_init__(self):
    if self.num_included < 1:
      raise ValueError(f"num_included must be at least 1, got {self.num_included}.")

  def sample_one(self, key: PRNGKeyArray, num_examples: int) -> Bool[Array, " examples"]:
    if self.num_included >= num_examples:
      raise ValueError(
          f"Complete randomization needs num_included < num_examples so that "
          f"both groups are non-empty; got {self.num_included} of {num_examples}."
      )
    ranks = jnp.argsort(jax.random.uniform(key, (num_examples,)))
    return jnp.zeros(num_examples, bool).at[ranks[: self.num_included]].set(True)

  def inclusion_probability(self, num_examples: int) -> float:
    return self.num_included / num_examples


Design = Bernoulli | Complete


def run_keys(key: PRNGKeyArray, run_indices) -> PRNGKeyArray:
  """Keys `fold_in(key, r)` for each run index r."""
  return jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.asarray(run_indices))


def sample_masks(
    key: PRNGKeyArray, design: Design, num_examples: int, runs: int | None = None,
    *, run_indices=None,
) -> Bool[Array, "runs examples"]:
  """Samples inclusion masks for `runs` runs (or for the given run indices).

  Args:
    key: the masks key; run r uses `fold_in(key, r)`.
    design: a `Bernoulli` or `Complete` design.
    num_examples: size of the audit pool N.
    runs: number of runs, giving run indices 0..runs-1.
    run_indices: explicit run indices instead of `runs`, e.g. one chunk.

  Returns:
    A bool array `[runs, examples]`; True means included in that run.

  Example:
    >>> key = jax.random.key(0)
    >>> masks = sample_masks(key, Complete(3), num_examples=5, runs=2)
    >>> masks.shape, masks.sum(axis=1).tolist()
    ((2, 5), [3, 3])
  """
  if run_indices is None:
    if runs is None or runs < 1:
      raise ValueError(f"runs must be a positive integer, got {runs}.")
    run_indices = jnp.arange(runs)
  keys = run_keys(key, run_indices)
  return jax.vmap(lambda k: design.sample_one(k, num_examples))(keys)


def from_config(kind: str, value: float) -> Design:
  """Builds a design from a name ("bernoulli" or "complete") and its parameter."""
  if kind == "bernoulli":
    return Bernoulli(float(value))
  if kind == "complete":
    return Complete(int(value))
  raise ValueError(f"Unknown design {kind!r}; expected 'bernoulli' or 'complete'.")
