"""DP-SGD for the many-model trainer: clipped per-example gradients plus Gaussian noise.

`training.train_one` calls `train_one_private` when `TrainConfig.dp_noise_multiplier`
is set, so `train_many` vmaps DP-SGD over runs exactly as it vmaps plain
training. Each step of run r:

1. draws a minibatch among the run's included examples (below);
2. computes per-example gradients by vmap, clips each to L2 norm C and sums
   them (`jax_privacy.clipped_grad`);
3. adds N(0, (sigma C)^2) noise to every coordinate of the sum
   (`jax_privacy.noise_addition.gaussian_privatizer`);
4. divides by `batch_size` and hands the result to the configured optimizer
   (weight decay, then SGD, momentum or Adam). Steps 4 onwards only
   post-process the noisy sum, so they keep the guarantee.

Minibatches:

- "poisson": every included example joins the batch independently with
  probability q = `dp_sampling_rate`, the rate the accountant uses. The sum is
  divided by the constant `batch_size` (the expected batch size when
  q = batch_size / included), never by the realized size, which would depend
  on the data. Shapes must be static, so the Poisson draw fills a padded batch
  of `max_batch_size` slots; padding slots contribute zero gradient. If more
  than `max_batch_size` examples are drawn, the ones with the largest indices
  are dropped. `poisson_max_batch_size` sizes the padding so that this
  happens with probability at most `tolerance` over all steps, and
  `truncation_probability` bounds it. A truncation probability t turns an
  (eps, delta) guarantee into (eps, delta + (1 + e^eps) t).
- "fixed": exactly `batch_size` included examples, uniformly without
  replacement (fewer when the run includes fewer). `causalmia.privacy`
  accounts only for Poisson sampling, so `account` reports no epsilon for it.

The guarantee is per run, for adding or removing one example of the run's
training set, and covers the trained parameters. The per-step losses returned
for monitoring are not privatized.

References:
  Abadi, Chu, Goodfellow, McMahan, Mironov, Talwar, Zhang, "Deep Learning
  with Differential Privacy", ACM CCS 2016.
"""

import math

import jax
import jax.numpy as jnp
import jax_privacy
import numpy as np
import optax
from jax_privacy import noise_addition
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray
from scipy import stats

from causalmia import models
from causalmia import privacy
from causalmia import training

DEFAULT_TRUNCATION_TOLERANCE = 1e-12


def poisson_max_batch_size(
    max_included: int, sampling_rate: float, steps: int,
    tolerance: float = DEFAULT_TRUNCATION_TOLERANCE,
) -> int:
  """Smallest padded batch size b with steps * P(Binomial(max_included, q) > b) <= tolerance.

  Example:
    >>> poisson_max_batch_size(1000, 0.064, steps=500)
    133
  """
  if not 0 < tolerance < 1:
    raise ValueError(f"tolerance must lie in (0, 1), got {tolerance}.")
  size = int(stats.binom.isf(tolerance / steps, max_included, sampling_rate))
  # isf can return one below the exact quantile through rounding; step up until it holds.
  while steps * stats.binom.sf(size, max_included, sampling_rate) > tolerance:
    size += 1
  return max(size, 1)


def truncation_probability(
    max_included: int, sampling_rate: float, steps: int, max_batch_size: int
) -> float:
  """Union bound over steps on the probability that a Poisson batch overflows its padding."""
  return float(min(1.0, steps * stats.binom.sf(max_batch_size, max_included, sampling_rate)))


def max_batch_size(config: training.TrainConfig, num_examples: int) -> int:
  """Padded batch size of a DP step: `dp_max_batch_size`, or one sized for the whole pool."""
  if config.dp_sampling == "fixed":
    return config.batch_size
  if config.dp_max_batch_size is not None:
    return config.dp_max_batch_size
  # A neighboring training set may hold one more example than the pool.
  return poisson_max_batch_size(num_examples + 1, config.dp_sampling_rate, config.steps)


def draw_batch(
    key: PRNGKeyArray, mask: Bool[Array, " examples"], config: training.TrainConfig,
    size: int,
) -> tuple[Int[Array, " batch"], Bool[Array, " batch"]]:
  """Draws one DP-SGD minibatch among the examples where `mask` is True.

  Returns:
    `(indices, is_padding)`, both of length `size`: example indices and
    whether each slot is padding (its index is then meaningless).
  """
  uniform = jax.random.uniform(key, mask.shape)
  if config.dp_sampling == "poisson":
    chosen = mask & (uniform < config.dp_sampling_rate)
    indices = jnp.nonzero(chosen, size=size, fill_value=0)[0]
    return indices, jnp.arange(size) >= jnp.sum(chosen)
  # Top-k of uniform priorities is a uniform draw without replacement.
  _, indices = jax.lax.top_k(jnp.where(mask, uniform, -1.0), size)
  return indices, ~mask[indices]


def private_optimizer(config: training.TrainConfig, noise_key: PRNGKeyArray):
  """Noise on the clipped gradient sum, division by `batch_size`, then the optimizer."""
  stddev = config.dp_noise_multiplier * config.dp_clip_norm if config.dp_noise_multiplier else 0.0
  return optax.chain(
      noise_addition.gaussian_privatizer(stddev=stddev, prng_key=noise_key),
      optax.scale(1.0 / config.batch_size),
      training.build_optimizer(config),
  )


def train_one_private(
    key: PRNGKeyArray,
    mask: Bool[Array, " examples"],
    inputs: Float[Array, "examples ..."],
    labels: Array,
    config: training.TrainConfig,
):
  """Trains one model with DP-SGD on the examples where `mask` is True.

  Arguments and outputs are those of `training.train_one`. The key is split
  into initialization, batch and noise keys. The loss of a step is the mean
  over its real (non-padding) batch entries. A step with an empty Poisson
  batch repeats the previous step's loss, which is NaN before the first
  non-empty batch. A run that includes no example keeps its initial
  parameters and reports NaN losses.
  """
  init_key, batch_key, noise_key = jax.random.split(key, 3)
  inputs, labels = jnp.asarray(inputs), jnp.asarray(labels)
  model = models.build_model(config.model, config.num_outputs)
  optimizer = private_optimizer(config, noise_key)
  params = model.init(init_key, inputs[:1])
  opt_state = optimizer.init(params)
  size = max_batch_size(config, mask.shape[0])
  trains = jnp.any(mask)

  def loss_fn(params, batch_inputs, batch_labels):
    outputs = model.apply(params, batch_inputs)
    return jnp.mean(training.example_losses(config, outputs, batch_labels))

  clipped_sum = jax_privacy.clipped_grad(
      loss_fn, l2_clip_norm=config.dp_clip_norm, batch_argnums=(1, 2), return_values=True
  )

  def step(carry, step_index):
    params, opt_state, last_loss = carry
    indices, is_padding = draw_batch(jax.random.fold_in(batch_key, step_index), mask, config, size)
    grads, aux = clipped_sum(params, inputs[indices], labels[indices],
                             is_padding_example=is_padding)
    real = jnp.sum(~is_padding)
    batch_loss = jnp.sum(jnp.where(is_padding, 0.0, aux.values)) / jnp.maximum(real, 1)
    loss = jnp.where(real > 0, batch_loss, last_loss)
    updates, new_opt_state = optimizer.update(grads, opt_state, params)
    params = jax.tree.map(lambda p, u: p + jnp.where(trains, u, 0), params, updates)
    opt_state = jax.tree.map(lambda new, old: jnp.where(trains, new, old), new_opt_state, opt_state)
    loss = jnp.where(trains, loss, jnp.nan)
    return (params, opt_state, loss), loss

  initial = (params, opt_state, jnp.array(jnp.nan, jnp.float32))
  (params, _, _), losses = jax.lax.scan(step, initial, jnp.arange(config.steps))
  return params, losses


def account(
    config: training.TrainConfig, *, delta: float, max_included: int, accountant: str = "rdp"
) -> dict:
  """Computes the privacy guarantee of each run trained with `config`, as data for results.json.

  Args:
    config: a DP-SGD training config (`config.private` is True).
    delta: the delta of the (epsilon, delta) claim.
    max_included: the largest training-set size among the runs, which bounds
      the Poisson batch size when the padding is checked for overflow.
    accountant: "rdp" or "pld" (`causalmia.privacy.dpsgd_epsilon`).

  Returns:
    A dict with the mechanism's settings, `epsilon`, `delta`, the padding's
    `truncation_probability` t and `delta_with_truncation = delta +
    (1 + e^epsilon) t`. The epsilon is `inf` without noise, and None for
    "fixed" sampling because the accountant does not cover it. Without
    `dp_max_batch_size`, t is computed for the padding the largest run
    needs. Training then padded to a size for the whole pool, which only
    lowers the true t.
  """
  if not config.private:
    raise ValueError("account() needs a DP-SGD config; dp_noise_multiplier is None.")
  summary = {
      "mechanism": "DP-SGD (per-example clipping, Gaussian noise on the clipped sum)",
      "neighboring_relation": "add or remove one example of a run's training set",
      "noise_multiplier": config.dp_noise_multiplier,
      "clip_norm": config.dp_clip_norm,
      "sampling": config.dp_sampling,
      "sampling_rate": config.dp_sampling_rate,
      "steps": config.steps,
      "normalizer": config.batch_size,
      "accountant": accountant,
      "delta": delta,
  }
  if config.dp_sampling != "poisson":
    summary.update(epsilon=None, truncation_probability=0.0, delta_with_truncation=delta,
                   note="The accountant covers Poisson sampling only; no epsilon is claimed "
                        "for fixed-size batches.")
    return summary
  size = config.dp_max_batch_size or poisson_max_batch_size(
      max_included + 1, config.dp_sampling_rate, config.steps)
  epsilon = privacy.dpsgd_epsilon(
      noise_multiplier=config.dp_noise_multiplier, sampling_rate=config.dp_sampling_rate,
      steps=config.steps, delta=delta, accountant=accountant,
  )
  truncation = truncation_probability(max_included + 1, config.dp_sampling_rate, config.steps, size)
  with np.errstate(over="ignore"):
    total = delta + (1.0 + math.exp(min(epsilon, 700.0))) * truncation
  summary.update(epsilon=epsilon, max_batch_size=size, truncation_probability=truncation,
                 delta_with_truncation=min(total, 1.0))
  return summary
