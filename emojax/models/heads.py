"""Heads on top of embeddings: dimension equalisers and MLP classifiers."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class MLP(nn.Module):
  """Dense layers with ReLU (and, in training, dropout) between them; the last
  layer is linear.

  `features` lists the hidden sizes followed by the output size.
  """
  features: Sequence[int]
  dropout: float = 0.0

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    for size in self.features[:-1]:
      x = nn.relu(nn.Dense(size)(x))
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.features[-1])(x)


class Equaliser(nn.Module):
  """Projects an embedding to `dim` features (Dense + ReLU), so modalities weigh alike."""
  dim: int

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    return nn.relu(nn.Dense(self.dim)(x))
