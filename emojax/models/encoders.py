"""Encoders: one modality's input -> a flat embedding."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from emojax.models import conv
from emojax.models import fused_conv
from emojax.models import initializers
from emojax.models import pooling


class Conv3x3(nn.Module):
  """3x3 convolution with SAME padding and a bias; the parameters of nn.Conv.

  `impl`: "xla" differentiates lax.conv as XLA does; "matmul" uses
  conv.conv3x3, loops of matrix products that use every core, and
  fused_conv's loops (on CPU, the probe network's train step at 32/64
  channels is 1.7x faster than with "xla", BENCHMARKS.md); "auto" picks
  "matmul" on CPU and "xla" elsewhere. `relu_max_pool`: then a ReLU and a 2x2
  max-pool, in the same loop as the convolution where fused_conv.fuses_relu_max_pool.
  Input [batch, height, width, channels]; output [batch, height, width, features]
  (halved height and width with relu_max_pool).
  """
  features: int
  impl: str = "auto"
  relu_max_pool: bool = False

  @nn.compact
  def kernel_and_bias(self, channels_in: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The parameters: kernel [3, 3, channels_in, features] and bias [features]."""
    kernel = self.param("kernel", initializers.lecun_normal, (3, 3, channels_in, self.features))
    return kernel, self.param("bias", nn.initializers.zeros, (self.features,))

  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    kernel, bias = self.kernel_and_bias(x.shape[-1])
    if resolve_conv_impl(self.impl) == "xla":
      y = lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
    else:
      if self.relu_max_pool and fused_conv.fuses_relu_max_pool(x.shape, self.features):
        return fused_conv.conv3x3_relu_max_pool(x, kernel, bias)
      y = conv.conv3x3(x, kernel)
    y = y + bias
    return pooling.max_pool_2x2(nn.relu(y)) if self.relu_max_pool else y


def resolve_conv_impl(impl: str) -> str:
  """config.model.conv_impl -> "xla" or "matmul" ("auto": matmul on CPU)."""
  if impl == "auto":
    return "matmul" if jax.default_backend() == "cpu" else "xla"
  if impl not in ("xla", "matmul"):
    raise ValueError(f"Unknown config.model.conv_impl {impl!r}; expected auto, matmul or xla.")
  return impl


POOLINGS = ("flatten", "width_mean")


class ConvEncoder(nn.Module):
  """The study's encoder: 3x3 conv + ReLU per width, one 2x2 max-pool (two
  layers in one loop over images where fused_conv.fuses_stem), then
  `pooling`: "flatten" (the study's) or "width_mean", the mean over the width
  axis (an MFCC image's frames), which makes the embedding independent of where
  in the clip a cue falls and 64x smaller for 128 frames.

  Input [batch, height, width, channels] float32; output [batch, features].
  """
  widths: Sequence[int]
  conv_impl: str = "auto"
  pooling: str = "flatten"

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    if self.pooling not in POOLINGS:
      raise ValueError(f"Unknown pooling {self.pooling!r}; expected one of {POOLINGS}.")
    *hidden_widths, last_width = self.widths
    if (len(hidden_widths) == 1 and resolve_conv_impl(self.conv_impl) == "matmul"
        and fused_conv.fuses_stem(x.shape, hidden_widths[0], last_width)):
      stem = Conv3x3(hidden_widths[0], self.conv_impl).kernel_and_bias(x.shape[-1])
      last = Conv3x3(last_width, self.conv_impl).kernel_and_bias(hidden_widths[0])
      x = fused_conv.stem_conv3x3_relu_max_pool(x, *stem, *last)
    else:
      for width in hidden_widths:
        x = nn.relu(Conv3x3(width, self.conv_impl)(x))
      x = Conv3x3(last_width, self.conv_impl, relu_max_pool=True)(x)
    if self.pooling == "width_mean":
      x = x.mean(axis=2)
    return x.reshape((x.shape[0], -1))


class LSTMEncoder(nn.Module):
  """An LSTM over MFCC frames; the embedding is its last hidden state.

  Input [batch, n_mfcc, frames] float32; output [batch, hidden_size].
  """
  hidden_size: int

  @nn.compact
  def __call__(self, mfcc: jnp.ndarray) -> jnp.ndarray:
    frames = jnp.swapaxes(mfcc, 1, 2)  # [batch, frames, n_mfcc]
    # Zeros computed from the input, so that under shard_map the initial carry
    # varies over devices as the data does (scan needs both sides alike).
    zeros = jnp.zeros((frames.shape[0], self.hidden_size)) + 0.0 * frames[:, 0, :1]
    (_, hidden), _ = nn.RNN(nn.OptimizedLSTMCell(self.hidden_size), return_carry=True)(
        frames, initial_carry=(zeros, zeros))
    return hidden


class MLPEncoder(nn.Module):
  """Dense + ReLU layers, e.g. over the 35 facial action units: [batch, d] -> [batch, widths[-1]]."""
  widths: Sequence[int]

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    for width in self.widths:
      x = nn.relu(nn.Dense(width)(x))
    return x
