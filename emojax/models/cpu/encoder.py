"""An encoder's convolutions on the CPU kernels, with nn.Conv's parameters."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from emojax.models import initializers
from emojax.models.cpu import conv
from emojax.models.cpu import fused_conv
from emojax.models.cpu import pooling


class Conv3x3Parameters(nn.Module):
  """The parameters of nn.Conv(features, (3, 3), kernel_init=initializers.lecun_normal),
  returned for the kernels here instead of applied: kernel [3, 3, channels_in,
  features] and bias [features]."""
  features: int

  @nn.compact
  def __call__(self, channels_in: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    kernel = self.param("kernel", initializers.lecun_normal, (3, 3, channels_in, self.features))
    return kernel, self.param("bias", nn.initializers.zeros, (self.features,))


def conv_relu_pool(x: jnp.ndarray, widths: Sequence[int], names: Sequence[str]) -> jnp.ndarray:
  """A 3x3 SAME conv + bias + ReLU per width, then a 2x2 max-pool (SAME).

  Called inside an nn.compact method: layer i's parameters are the caller's
  submodule names[i], as an nn.Conv of that name would hold them. A two-layer
  stack runs in one loop over images where fused_conv.fuses_stem, else the last
  layer runs with its ReLU and pool where fused_conv.fuses_relu_max_pool.
  Input [batch, height, width, channels] float32; output [batch, ceil(height / 2),
  ceil(width / 2), widths[-1]].
  """
  *hidden, last = [Conv3x3Parameters(width, name=name) for width, name in zip(widths, names)]
  if len(hidden) == 1 and fused_conv.fuses_stem(x.shape, hidden[0].features, last.features):
    stem = hidden[0](x.shape[-1])
    return fused_conv.stem_conv3x3_relu_max_pool(x, *stem, *last(hidden[0].features))
  for layer in hidden:
    kernel, bias = layer(x.shape[-1])
    x = jax.nn.relu(conv.conv3x3(x, kernel) + bias)
  kernel, bias = last(x.shape[-1])
  if fused_conv.fuses_relu_max_pool(x.shape, last.features):
    return fused_conv.conv3x3_relu_max_pool(x, kernel, bias)
  return pooling.max_pool_2x2(jax.nn.relu(conv.conv3x3(x, kernel) + bias))
