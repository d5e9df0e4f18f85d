"""Small flax models trained many at a time: linear, MLP and a CNN for 32x32 images.

Every model maps inputs `[batch, ...]` to outputs `[batch, outputs]`: class
logits, or one prediction for regression. Models are `flax.linen` modules so
that parameters are plain pytrees that `vmap` can stack along a `runs` axis.
"""

import dataclasses
import math

import flax.linen as nn


class Linear(nn.Module):
  """Linear model: logistic (softmax) regression, or linear regression with one output."""

  num_outputs: int

  @nn.compact
  def __call__(self, x):
    x = x.reshape((x.shape[0], -1))
    return nn.Dense(self.num_outputs)(x)


class MLP(nn.Module):
  """Fully connected network with ReLU hidden layers."""

  hidden: tuple[int, ...]
  num_outputs: int

  @nn.compact
  def __call__(self, x):
    x = x.reshape((x.shape[0], -1))
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.num_outputs)(x)


class SmallCNN(nn.Module):
  """Two 3x3 convolution blocks with 2x2 average pooling, then a dense layer.

  Sized for 32x32 RGB inputs in NHWC layout; other spatial sizes also work.
  """

  channels: tuple[int, ...] = (16, 32)
  dense: int = 64
  num_outputs: int = 10

  @nn.compact
  def __call__(self, x):
    for width in self.channels:
      x = nn.relu(nn.Conv(width, (3, 3))(x))
      x = nn.avg_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape((x.shape[0], -1))
    x = nn.relu(nn.Dense(self.dense)(x))
    return nn.Dense(self.num_outputs)(x)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Model choice. `kind` is "linear", "mlp" or "cnn"; `hidden` sets MLP widths
  or, for the CNN, its convolution channels."""

  kind: str = "mlp"
  hidden: tuple[int, ...] = (128,)


def build_model(config: ModelConfig, num_outputs: int) -> nn.Module:
  """Creates the flax module described by `config`."""
  if config.kind == "linear":
    return Linear(num_outputs)
  if config.kind == "mlp":
    return MLP(tuple(config.hidden), num_outputs)
  if config.kind == "cnn":
    channels = tuple(config.hidden) if config.hidden else (16, 32)
    return SmallCNN(channels=channels, num_outputs=num_outputs)
  raise ValueError(f"Unknown model kind {config.kind!r}; expected 'linear', 'mlp' or 'cnn'.")


def count_flops_per_example(config: ModelConfig, input_shape, num_outputs: int) -> int:
  """Multiply-add FLOPs (2 per multiply-add) of one forward pass on one example.

  Dense layers only; the CNN count also includes its convolutions at 'SAME'
  padding. Used by benchmarks to report achieved FLOP/s.
  """
  features = math.prod(input_shape)
  if config.kind == "linear":
    return 2 * features * num_outputs
  if config.kind == "mlp":
    widths = (features,) + tuple(config.hidden) + (num_outputs,)
    return sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))
  height, width, channels = input_shape
  flops = 0
  for out_channels in (tuple(config.hidden) or (16, 32)):
    flops += 2 * height * width * 9 * channels * out_channels
    height, width, channels = height // 2, width // 2, out_channels
  flops += 2 * height * width * channels * 64 + 2 * 64 * num_outputs
  return flops
