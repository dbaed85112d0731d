"""Encoders: one modality's input -> a flat embedding."""
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from emojax.models import conv
from emojax.models import initializers


class Conv3x3(nn.Module):
  """3x3 convolution with SAME padding and a bias; the parameters of nn.Conv.

  `impl`: "xla" differentiates lax.conv as XLA does; "matmul" uses
  conv.conv3x3, loops of matrix products that use every core (on CPU, a 1.3x
  faster train step for the probe network at 32/64 channels); "auto" picks
  "matmul" on CPU and "xla" elsewhere.
  Input [batch, height, width, channels]; output [batch, height, width, features].
  """
  features: int
  impl: str = "auto"

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    kernel = self.param("kernel", initializers.lecun_normal,
                        (3, 3, x.shape[-1], self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    impl = self.impl
    if impl == "auto":
      impl = "matmul" if jax.default_backend() == "cpu" else "xla"
    if impl == "xla":
      y = lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                   dimension_numbers=("NHWC", "HWIO", "NHWC"))
    elif impl == "matmul":
      y = conv.conv3x3(x, kernel)
    else:
      raise ValueError(f"Unknown config.model.conv_impl {self.impl!r}; "
                       "expected auto, matmul or xla.")
    return y + bias


def _windows(x: jnp.ndarray) -> jnp.ndarray:
  """[B, H, W, C] (H, W even) -> [B, H/2, 2, W/2, 2, C]: the 2x2 windows."""
  batch, height, width, channels = x.shape
  return x.reshape(batch, height // 2, 2, width // 2, 2, channels)


def _max_and_first_argmax(x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
  """[B, H, W, C] (H, W even) -> each 2x2 window's maximum [B, H/2, W/2, C], and
  the position (0-3, row-major) of its first maximum, int8."""
  windows = _windows(x)
  corners = [windows[:, :, i, :, j] for i in range(2) for j in range(2)]
  pooled = jnp.maximum(jnp.maximum(corners[0], corners[1]), jnp.maximum(corners[2], corners[3]))
  first = jnp.where(corners[0] == pooled, 0,
                    jnp.where(corners[1] == pooled, 1, jnp.where(corners[2] == pooled, 2, 3)))
  return pooled, first.astype(jnp.int8)


@jax.custom_vjp
def _max_of_windows(x: jnp.ndarray) -> jnp.ndarray:
  return _max_and_first_argmax(x)[0]


def _max_of_windows_forward(x):
  # The argmax, not x, is kept: a quarter of the pixels, in int8.
  return _max_and_first_argmax(x)


def _max_of_windows_backward(first, grad_pooled):
  # Each window's gradient goes to its first maximum, as nn.max_pool's does.
  positions = jnp.arange(4, dtype=jnp.int8).reshape(1, 1, 2, 1, 2, 1)
  grad_x = jnp.where(first[:, :, None, :, None, :] == positions,
                     grad_pooled[:, :, None, :, None, :], 0)
  batch, half_height, _, half_width, _, channels = grad_x.shape
  return (grad_x.reshape(batch, 2 * half_height, 2 * half_width, channels),)


_max_of_windows.defvjp(_max_of_windows_forward, _max_of_windows_backward)


def max_pool_2x2(x: jnp.ndarray) -> jnp.ndarray:
  """2x2 max-pool, stride 2, SAME padding: [B, H, W, C] -> [B, ceil(H/2), ceil(W/2), C].

  nn.max_pool's values and gradients (a window's gradient goes to its first
  maximum) without reduce_window: XLA's CPU gradient of that
  (select_and_scatter) is about 6x slower, and autodiff of a reshape-max
  (which compares and counts the ties of every window) about 2x.
  """
  height, width = x.shape[1:3]
  x = jnp.pad(x, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), constant_values=-jnp.inf)
  return _max_of_windows(x)


POOLINGS = ("flatten", "width_mean")


class ConvEncoder(nn.Module):
  """The study's encoder: 3x3 conv + ReLU per width, one 2x2 max-pool, then
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
    for width in self.widths:
      x = nn.relu(Conv3x3(width, self.conv_impl)(x))
    x = max_pool_2x2(x)
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
