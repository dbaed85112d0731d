"""Encoders: one modality's input -> a flat embedding."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from emojax.models import conv_backend
from emojax.models import cpu
from emojax.models import initializers


POOLINGS = ("flatten", "width_mean", "width_attention")


class AttentionPooling(nn.Module):
  """[batch, steps, features] -> [batch, features]: each step layer-normalised,
  then their mean weighted by a learned softmax over steps (a one-hidden-layer
  scorer), so that the steps that carry the emotion count most."""
  hidden: int = 64

  @nn.compact
  def __call__(self, steps: jnp.ndarray) -> jnp.ndarray:
    steps = nn.LayerNorm(name="norm")(steps)
    scores = nn.Dense(1, name="score")(nn.tanh(nn.Dense(self.hidden, name="hidden")(steps)))
    weights = nn.softmax(scores, axis=1)  # [batch, steps, 1]
    return (weights * steps).sum(axis=1)


class ConvEncoder(nn.Module):
  """The study's encoder: 3x3 conv + ReLU per width, one 2x2 max-pool, then
  `pooling`: "flatten" (the study's), "width_mean", the mean over the width
  axis (an MFCC image's frames), which makes the embedding independent of where
  in the clip a cue falls and 64x smaller for 128 frames, or "width_attention",
  an `AttentionPooling` over the width axis (each column's features one step).

  The convolutions run on emojax/models/cpu/'s kernels where conv_backend
  selects them (on CPU by default), with the same parameters and values.
  Input [batch, height, width, channels] float32; output [batch, features].
  """
  widths: Sequence[int]
  pooling: str = "flatten"

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    if self.pooling not in POOLINGS:
      raise ValueError(f"Unknown pooling {self.pooling!r}; expected one of {POOLINGS}.")
    # The names every checkpoint so far gives the layers, on either path.
    names = [f"Conv3x3_{i}" for i in range(len(self.widths))]
    if conv_backend.resolved() == "cpu":
      x = cpu.conv_relu_pool(x, self.widths, names)
    else:
      for width, name in zip(self.widths, names):
        x = nn.relu(nn.Conv(width, (3, 3), kernel_init=initializers.lecun_normal, name=name)(x))
      x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
    if self.pooling == "width_mean":
      x = x.mean(axis=2)
    elif self.pooling == "width_attention":
      batch, height, width, channels = x.shape
      columns = jnp.swapaxes(x, 1, 2).reshape(batch, width, height * channels)
      return AttentionPooling(name="attention_pooling")(columns)
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
  """Dense + ReLU layers, e.g. over the 35 facial action units: [batch, d] -> [batch, widths[-1]].

  No widths: the input itself (a linear model's features)."""
  widths: Sequence[int]

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    for width in self.widths:
      x = nn.relu(nn.Dense(width)(x))
    return x
