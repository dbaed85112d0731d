"""Encoders: one modality's input -> a flat embedding."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class ConvEncoder(nn.Module):
  """The study's encoder: 3x3 conv + ReLU per width, one 2x2 max-pool, flatten.

  Input [batch, height, width, channels] float32; output [batch, features].
  """
  widths: Sequence[int]

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    for width in self.widths:
      x = nn.relu(nn.Conv(width, (3, 3), padding="SAME")(x))
    x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
    return x.reshape((x.shape[0], -1))
