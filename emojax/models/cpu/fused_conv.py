"""An encoder's last layer, 3x3 conv + bias + ReLU + 2x2 max-pool, in one loop over images.

`conv3x3_relu_max_pool` computes the convolution by Winograd's F(2x2, 3x3)
(winograd.py): 16 products per tile where a direct convolution takes 36, 2.25x
fewer FLOPs in the forward pass and both gradients, and its 2x2 output tiles
are the max-pool's windows, so the layer's full-size output and its gradient
never go to memory: each loop step keeps only the pooled output and each
window's first-maximum position (int8), and the backward loop rebuilds the
tiles' gradients from those.

`stem_conv3x3_relu_max_pool` runs a two-layer encoder in the same loop: its
first layer's few input channels (1 for MFCCs, 3 for RGB) make a thin
convolution, which XLA's CPU runs on one thread, so each loop step computes it
as one product of the images' 3x3 patches and the kernel, and the backward
loop recomputes it: its output and gradient never go to memory either.
"""
import functools

import jax
import jax.numpy as jnp

from emojax.models.cpu import conv
from emojax.models.cpu import pooling
from emojax.models.cpu import winograd

def fuses_relu_max_pool(x_shape: tuple[int, ...], channels_out: int) -> bool:
  """Whether conv3x3_relu_max_pool takes this layer: wide enough for matrix
  products, and an even height and width (the pool's windows are the tiles)."""
  _, height, width, channels_in = x_shape
  return conv.uses_matmuls(channels_in, channels_out) and height % 2 == 0 and width % 2 == 0


def fuses_stem(x_shape: tuple[int, ...], stem_features: int, features: int) -> bool:
  """Whether stem_conv3x3_relu_max_pool takes a first layer of `stem_features`
  on x and a last layer of `features`: when the last layer fuses its pool."""
  return fuses_relu_max_pool(tuple(x_shape[:3]) + (stem_features,), features)


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
      lambda x: _relu_max_pool(x, transformed_kernel, bias), conv.chunk_of(x), 2, x)
  return pooled, (x, kernel, pooled, first)


def _conv3x3_relu_max_pool_backward(residuals, grad_pooled):
  x, kernel, pooled, first = residuals
  chunk_gradients = functools.partial(_relu_max_pool_gradients, winograd.kernel_transform(kernel))
  (grad_x,), (grad_transformed, grad_bias) = conv.loop_over_chunks(
      chunk_gradients, conv.chunk_of(x), 1, x, pooled, first, grad_pooled)
  return grad_x, winograd.kernel_transform_transpose(grad_transformed), grad_bias


conv3x3_relu_max_pool.defvjp(_conv3x3_relu_max_pool_forward, _conv3x3_relu_max_pool_backward)


def _patches(x: jnp.ndarray) -> jnp.ndarray:
  """[n, H, W, C] -> [n * H * W, 9C]: each pixel's zero-padded 3x3 neighbourhood,
  ordered as a [3, 3, C, C_out] kernel reshaped to [9C, C_out]."""
  height, width, channels = x.shape[1:]
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  taps = [padded[:, i:i + height, j:j + width] for i in range(3) for j in range(3)]
  return jnp.concatenate(taps, axis=-1).reshape(-1, 9 * channels)


def _stem(x, kernel, bias):
  """relu(conv3x3(x, kernel) + bias) of a few images, one product of their
  patches [P, 9C_in] and the kernel [9C_in, C_out]; returns (patches, output)."""
  patches = _patches(x)
  output = jax.nn.relu(patches @ kernel.reshape(patches.shape[1], -1) + bias)
  return patches, output.reshape(x.shape[:3] + kernel.shape[-1:])


@jax.custom_vjp
def stem_conv3x3_relu_max_pool(x: jnp.ndarray, stem_kernel: jnp.ndarray, stem_bias: jnp.ndarray,
                               kernel: jnp.ndarray, bias: jnp.ndarray) -> jnp.ndarray:
  """A two-layer encoder for fuses_stem's layers, max_pool_2x2(relu(conv3x3(
  relu(conv3x3(x, stem_kernel) + stem_bias), kernel) + bias)), in one loop over
  images: x [B, H, W, C_in] -> [B, H/2, W/2, C_out]."""
  return _stem_conv3x3_relu_max_pool_forward(x, stem_kernel, stem_bias, kernel, bias)[0]


def _stem_conv3x3_relu_max_pool_forward(x, stem_kernel, stem_bias, kernel, bias):
  transformed_kernel = winograd.kernel_transform(kernel)
  chunk_fn = lambda x: _relu_max_pool(_stem(x, stem_kernel, stem_bias)[1], transformed_kernel, bias)
  (pooled, first), _ = conv.loop_over_chunks(chunk_fn, conv.chunk_of(x), 2, x)
  return pooled, (x, stem_kernel, stem_bias, kernel, pooled, first)


def _stem_conv3x3_relu_max_pool_backward(residuals, grad_pooled):
  x, stem_kernel, stem_bias, kernel, pooled, first = residuals
  last_layer_gradients = functools.partial(_relu_max_pool_gradients,
                                           winograd.kernel_transform(kernel))

  def chunk_gradients(x, pooled, first, grad_pooled):
    patches, stem = _stem(x, stem_kernel, stem_bias)
    grad_stem, grad_transformed, grad_bias = last_layer_gradients(stem, pooled, first, grad_pooled)
    grad_stem = jnp.where(stem > 0, grad_stem, 0).reshape(patches.shape[0], -1)
    _, patches_transpose = jax.vjp(_patches, x)
    grad_x, = patches_transpose(grad_stem @ stem_kernel.reshape(patches.shape[1], -1).T)
    return grad_x, patches.T @ grad_stem, grad_stem.sum(0), grad_transformed, grad_bias

  (grad_x,), grad_sums = conv.loop_over_chunks(
      chunk_gradients, conv.chunk_of(x), 1, x, pooled, first, grad_pooled)
  grad_stem_kernel, grad_stem_bias, grad_transformed, grad_bias = grad_sums
  return (grad_x, grad_stem_kernel.reshape(stem_kernel.shape), grad_stem_bias,
          winograd.kernel_transform_transpose(grad_transformed), grad_bias)


stem_conv3x3_relu_max_pool.defvjp(_stem_conv3x3_relu_max_pool_forward,
                                  _stem_conv3x3_relu_max_pool_backward)
