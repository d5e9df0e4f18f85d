"""Membership scores: larger means more member-like, for every run and example.

A score is a pure function `score(apply_fn, params, inputs, labels)` of one
model's parameters and the examples, returning `[examples]`. `score_runs`
vmaps it over the `runs` axis of stacked parameters. New scores need no
registration to be used from Python; `SCORES` maps the names accepted in
experiment configs.
"""

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def negative_loss(apply_fn, params, inputs, labels, *, regression: bool = False):
  """Negated per-example loss: -cross-entropy, or -squared error for regression."""
  outputs = apply_fn(params, inputs)
  if regression:
    return -jnp.square(outputs[:, 0] - labels)
  log_probs = jax.nn.log_softmax(outputs)
  return jnp.take_along_axis(log_probs, labels[:, None], axis=1)[:, 0]


def logit_confidence(apply_fn, params, inputs, labels, *, regression: bool = False):
  """Logit-scaled confidence `log p_y - log(1 - p_y)` of the true label.

  Computed as `z_y - logsumexp(z_k for k != y)` from the logits z, which is
  the same quantity without forming `1 - p_y`, so it stays finite and
  accurate when p_y rounds to 1 in floating point.

  References:
    Carlini, Chien, Nasr, Song, Terzis, Tramer, "Membership Inference
    Attacks From First Principles", IEEE S&P 2022 (the logit scaling).
  """
  if regression:
    raise ValueError("logit_confidence needs class logits; use negative_loss for regression.")
  logits = apply_fn(params, inputs)
  true_logit = jnp.take_along_axis(logits, labels[:, None], axis=1)[:, 0]
  is_true = jax.nn.one_hot(labels, logits.shape[1], dtype=bool)
  others = jax.nn.logsumexp(jnp.where(is_true, -jnp.inf, logits), axis=1)
  return true_logit - others


SCORES = {"loss": negative_loss, "logit": logit_confidence}


@functools.partial(jax.jit, static_argnames=("score_fn", "apply_fn", "regression"))
def score_runs(
    score_fn, apply_fn, params, inputs, labels, *, regression: bool = False
) -> Float[Array, "runs examples"]:
  """Applies `score_fn` to every run's parameters on every example.

  Layers whose input is shared by all runs (the first layer receives the
  same examples under every model) become one matrix product under vmap.
  """
  one = functools.partial(score_fn, apply_fn, regression=regression)
  return jax.vmap(one, in_axes=(0, None, None))(params, inputs, labels)


def get_score(name: str):
  """Looks up a score by its config name."""
  if name not in SCORES:
    raise ValueError(f"Unknown score {name!r}; expected one of {sorted(SCORES)}.")
  return SCORES[name]
