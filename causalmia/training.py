"""Training many small models at once: one model per run, vmapped over runs.

`train_one` trains a single model on the examples its mask includes.
`train_many` vmaps it over the `runs` axis inside one `jit`, with the steps
as a `lax.scan`, and processes the runs in fixed-size chunks to bound memory.

Minibatches: at each step a run draws `batch_size` indices uniformly with
replacement among its own included examples. The cost of a step therefore
depends on the batch size and never on the pool size N, and different runs
see different examples at the same step.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from causalmia import models

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Training settings of each model, frozen and hashable so it is a static jit argument.

  Attributes:
    model: the model architecture.
    num_outputs: classes for classification, 1 for regression.
    regression: squared-error loss instead of softmax cross-entropy.
    optimizer: "sgd", "momentum" (0.9) or "adam".
    learning_rate: step size.
    steps: optimizer steps per run.
    batch_size: examples drawn per step among the run's included examples.
    weight_decay: L2 penalty coefficient, added to the gradient.
    dp_noise_multiplier: None trains without differential privacy. A number
      sigma >= 0 switches to DP-SGD (`causalmia.dpsgd`): per-example
      gradients clipped to `dp_clip_norm`, plus Gaussian noise of standard
      deviation `sigma * dp_clip_norm` on their sum.
    dp_clip_norm: L2 bound C of each per-example gradient under DP-SGD;
      `inf` disables clipping and then needs `dp_noise_multiplier = 0`.
    dp_sampling: DP-SGD minibatches: "poisson" (each included example joins
      a step's batch independently with probability `dp_sampling_rate`) or
      "fixed" (`batch_size` included examples without replacement).
    dp_sampling_rate: the Poisson rate q; required for "poisson".
    dp_max_batch_size: padded batch shape of Poisson steps; None derives it
      from the pool size with `dpsgd.poisson_max_batch_size`.
  """

  model: models.ModelConfig = models.ModelConfig()
  num_outputs: int = 10
  regression: bool = False
  optimizer: str = "adam"
  learning_rate: float = 1e-2
  steps: int = 300
  batch_size: int = 64
  weight_decay: float = 0.0
  dp_noise_multiplier: float | None = None
  dp_clip_norm: float = 1.0
  dp_sampling: str = "poisson"
  dp_sampling_rate: float | None = None
  dp_max_batch_size: int | None = None

  def __post_init__(self):
    if self.optimizer not in OPTIMIZERS:
      raise ValueError(f"Unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}.")
    for name in ("steps", "batch_size", "num_outputs"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
    if self.dp_noise_multiplier is not None:
      _check_dp_settings(self)

  @property
  def private(self) -> bool:
    """True when the models are trained with DP-SGD."""
    return self.dp_noise_multiplier is not None


DP_SAMPLING = ("poisson", "fixed")


def _check_dp_settings(config: TrainConfig) -> None:
  sigma, clip = config.dp_noise_multiplier, config.dp_clip_norm
  if not (np.isfinite(sigma) and sigma >= 0):
    raise ValueError(f"dp_noise_multiplier must be a finite number >= 0, got {sigma}.")
  if not clip > 0:
    raise ValueError(f"dp_clip_norm must be positive (inf disables clipping), got {clip}.")
  if np.isinf(clip) and sigma > 0:
    raise ValueError("dp_clip_norm is inf, so the noise sigma * C is infinite; "
                     "set a finite dp_clip_norm or dp_noise_multiplier = 0.")
  if config.dp_sampling not in DP_SAMPLING:
    raise ValueError(f"Unknown dp_sampling {config.dp_sampling!r}; expected one of {DP_SAMPLING}.")
  rate = config.dp_sampling_rate
  if config.dp_sampling == "poisson" and not (rate is not None and 0 < rate <= 1):
    raise ValueError(f"dp_sampling 'poisson' needs dp_sampling_rate in (0, 1], got {rate}.")
  if config.dp_max_batch_size is not None and config.dp_max_batch_size < 1:
    raise ValueError(f"dp_max_batch_size must be at least 1, got {config.dp_max_batch_size}.")


def build_optimizer(config: TrainConfig) -> optax.GradientTransformation:
  """Builds the optax optimizer of `config`, with weight decay applied before it."""
  if config.optimizer == "sgd":
    base = optax.sgd(config.learning_rate)
  elif config.optimizer == "momentum":
    base = optax.sgd(config.learning_rate, momentum=0.9)
  else:
    base = optax.adam(config.learning_rate)
  if config.weight_decay:
    return optax.chain(optax.add_decayed_weights(config.weight_decay), base)
  return base


def example_losses(config: TrainConfig, outputs, labels) -> Float[Array, " batch"]:
  """Per-example training loss: cross-entropy, or squared error for regression."""
  if config.regression:
    return jnp.square(outputs[:, 0] - labels)
  return optax.softmax_cross_entropy_with_integer_labels(outputs, labels)


def init_params(key: PRNGKeyArray, config: TrainConfig, inputs):
  """Initial parameters of one model."""
  model = models.build_model(config.model, config.num_outputs)
  return model.init(key, inputs[:1])


def train_one(
    key: PRNGKeyArray,
    mask: Bool[Array, " examples"],
    inputs: Float[Array, "examples ..."],
    labels: Array,
    config: TrainConfig,
):
  """Trains one model on the examples where `mask` is True.

  With `config.private`, `dpsgd.train_one_private` trains it with DP-SGD
  instead, and its minibatches and key split are described there.

  Args:
    key: the run's key; split into an initialization key and a batch key.
    mask: `[examples]` inclusion of each example in this run's training set.
    inputs: `[examples, ...]` all examples (included or not).
    labels: `[examples]` labels.
    config: training settings.

  Returns:
    `(params, losses)`: the trained parameters and the mean minibatch loss of
    each step, `[steps]`. A run that includes no example keeps its initial
    parameters and reports NaN losses.
  """
  if config.private:
    from causalmia import dpsgd  # Deferred: dpsgd imports this module.

    return dpsgd.train_one_private(key, mask, inputs, labels, config)
  init_key, batch_key = jax.random.split(key)
  model = models.build_model(config.model, config.num_outputs)
  optimizer = build_optimizer(config)
  params = model.init(init_key, inputs[:1])
  opt_state = optimizer.init(params)

  # Included examples first, in index order; the first `included` entries of
  # `order` are the run's training set.
  included = jnp.sum(mask)
  order = jnp.argsort(~mask, stable=True)

  def loss_fn(params, batch_inputs, batch_labels):
    outputs = model.apply(params, batch_inputs)
    return jnp.mean(example_losses(config, outputs, batch_labels))

  def step(carry, step_index):
    params, opt_state = carry
    step_key = jax.random.fold_in(batch_key, step_index)
    picks = jax.random.randint(step_key, (config.batch_size,), 0, jnp.maximum(included, 1))
    batch = order[picks]
    loss, grads = jax.value_and_grad(loss_fn)(params, inputs[batch], labels[batch])
    updates, new_opt_state = optimizer.update(grads, opt_state, params)
    trains = included > 0
    params = jax.tree.map(lambda p, u: p + jnp.where(trains, u, 0), params, updates)
    opt_state = jax.tree.map(lambda new, old: jnp.where(trains, new, old), new_opt_state, opt_state)
    return (params, opt_state), jnp.where(trains, loss, jnp.nan)

  (params, _), losses = jax.lax.scan(step, (params, opt_state), jnp.arange(config.steps))
  return params, losses


@functools.partial(jax.jit, static_argnames=("config",))
def _train_chunk(keys, masks, inputs, labels, config):
  return jax.vmap(train_one, in_axes=(0, 0, None, None, None))(keys, masks, inputs, labels, config)


def train_many(
    key: PRNGKeyArray,
    masks: Bool[Array, "runs examples"],
    inputs,
    labels,
    config: TrainConfig,
    *,
    chunk_size: int | None = None,
    progress=None,
):
  """Trains one model per row of `masks`, vmapped over runs, in chunks.

  Run r is trained with the key `fold_in(key, r)`, so its parameters do not
  depend on the chunk size, and a run can be retrained alone with
  `train_one(jax.random.fold_in(key, r), masks[r], ...)`.

  Args:
    key: the training key.
    masks: `[runs, examples]` inclusion masks.
    inputs: `[examples, ...]` inputs, shared by all runs.
    labels: `[examples]` labels.
    config: training settings.
    chunk_size: runs trained per compiled call (default: all). The last chunk
      is padded to the same size so that only one shape is compiled.
    progress: optional callable receiving the number of runs finished.

  Returns:
    `(params, losses)`: parameters stacked along a leading `runs` axis, and
    `[runs, steps]` minibatch losses.
  """
  masks = jnp.asarray(masks)
  runs = masks.shape[0]
  chunk_size = runs if chunk_size is None else min(chunk_size, runs)
  inputs, labels = jnp.asarray(inputs), jnp.asarray(labels)

  chunks = []
  for start in range(0, runs, chunk_size):
    indices = np.arange(start, start + chunk_size)
    valid = indices < runs
    indices = np.where(valid, indices, runs - 1)
    keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.asarray(indices))
    params, losses = _train_chunk(keys, masks[indices], inputs, labels, config)
    chunks.append(jax.tree.map(lambda x: x[: int(valid.sum())], (params, losses)))
    if progress is not None:
      progress(int(valid.sum()))
  return jax.tree.map(lambda *xs: jnp.concatenate(xs), *chunks)


def check_finite_losses(losses) -> None:
  """Raises FloatingPointError naming the runs and steps where the loss is not finite."""
  losses = np.asarray(losses)
  bad = ~np.isfinite(losses)
  if not bad.any():
    return
  runs = np.flatnonzero(bad.any(axis=1))
  steps = np.flatnonzero(bad.any(axis=0))
  raise FloatingPointError(
      f"Training loss is not finite in {len(runs)} run(s) (first: {runs[:5].tolist()}) "
      f"at steps {int(steps.min())}..{int(steps.max())}; lower the learning rate or "
      "check the inputs for extreme values."
  )
