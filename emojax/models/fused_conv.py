"""An encoder's last layer, 3x3 conv + bias + ReLU + 2x2 max-pool, in one loop over images.

`conv3x3_relu_max_pool` computes the convolution by Winograd's F(2x2, 3x3)
(winograd.py): 16 products per tile where a direct convolution takes 36, 2.25x
fewer FLOPs in the forward pass and both gradients, and its 2x2 output tiles
are the max-pool's windows, so the layer's full-size output and its gradient
never go to memory: each loop step keeps only the pooled output and each
window's first-maximum position (int8), and the backward loop rebuilds the
tiles' gradients from those.
"""
import functools

import jax
import jax.numpy as jnp

from emojax.models import conv
from emojax.models import pooling
from emojax.models import winograd

# Pixels per loop step: one 64x128 image.
_CHUNK_PIXELS = 8192


def fuses_relu_max_pool(x_shape: tuple[int, ...], channels_out: int) -> bool:
  """Whether conv3x3_relu_max_pool takes this layer: wide enough for matrix
  products, and an even height and width (the pool's windows are the tiles)."""
  _, height, width, channels_in = x_shape
  return conv.uses_matmuls(channels_in, channels_out) and height % 2 == 0 and width % 2 == 0


def _chunk_of(x: jnp.ndarray) -> int:
  return conv.chunk_size(x.shape[0], x.shape[1] * x.shape[2], _CHUNK_PIXELS)


def _relu_max_pool(x, transformed_kernel, bias):
  """A few images' pooled outputs and first-maximum positions, [n, H/2, W/2, C_out]."""
  batch, height, width, _ = x.shape
  tiles = winograd.input_tiles(x)
  corners = winograd.output_corners([tile @ u for tile, u in zip(tiles, transformed_kernel)])
  pooled, first = pooling.max_and_first_corner([jax.nn.relu(c + bias) for c in corners])
  shape = (batch, height // 2, width // 2, -1)
  return pooled.reshape(shape), first.reshape(shape)


def _relu_max_pool_gradients(transformed_kernel, x, pooled, first, grad_pooled):
  """A few images' gradients of _relu_max_pool's pooled output with respect to
  x, the transformed kernel [16, C_in, C_out] and the bias."""
  channels_out = grad_pooled.shape[-1]
  # A window's maximum is the ReLU's output there, so pooled > 0 is its mask.
  grad_pooled = jnp.where(pooled > 0, grad_pooled, 0).reshape(-1, channels_out)
  grad_corners = pooling.corner_gradients(first.reshape(-1, channels_out), grad_pooled)
  grad_products = winograd.output_corners_transpose(grad_corners)
  tiles, input_tiles_transpose = jax.vjp(winograd.input_tiles, x)
  grad_x, = input_tiles_transpose([g @ u.T for g, u in zip(grad_products, transformed_kernel)])
  grad_kernel = jnp.stack([tile.T @ g for tile, g in zip(tiles, grad_products)])
  return grad_x, grad_kernel, grad_pooled.sum(0)


@jax.custom_vjp
def conv3x3_relu_max_pool(x: jnp.ndarray, kernel: jnp.ndarray, bias: jnp.ndarray) -> jnp.ndarray:
  """max_pool_2x2(relu(conv3x3(x, kernel) + bias)) for fuses_relu_max_pool's
  layers: x [B, H, W, C_in] -> [B, H/2, W/2, C_out], a few images per step."""
  return _conv3x3_relu_max_pool_forward(x, kernel, bias)[0]


def _conv3x3_relu_max_pool_forward(x, kernel, bias):
  transformed_kernel = winograd.kernel_transform(kernel)
  (pooled, first), _ = conv.loop_over_chunks(
      lambda x: _relu_max_pool(x, transformed_kernel, bias), _chunk_of(x), 2, x)
  return pooled, (x, kernel, pooled, first)


def _conv3x3_relu_max_pool_backward(residuals, grad_pooled):
  x, kernel, pooled, first = residuals
  chunk_gradients = functools.partial(_relu_max_pool_gradients, winograd.kernel_transform(kernel))
  (grad_x,), (grad_transformed, grad_bias) = conv.loop_over_chunks(
      chunk_gradients, _chunk_of(x), 1, x, pooled, first, grad_pooled)
  return grad_x, winograd.kernel_transform_transpose(grad_transformed), grad_bias


conv3x3_relu_max_pool.defvjp(_conv3x3_relu_max_pool_forward, _conv3x3_relu_max_pool_backward)
