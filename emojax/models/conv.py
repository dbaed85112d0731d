"""A 3x3 SAME convolution whose kernel gradient is a loop of cache-sized matrix products.

On CPU, XLA computes a convolution's forward pass and input gradient well but
its kernel gradient slowly (about 4x slower than this for the study's
encoders): it runs it as a convolution with an image-sized kernel. `conv3x3`
keeps XLA for the forward pass and the input gradient (a convolution with the
flipped kernel) and computes the kernel gradient as products of shifted
inputs with the output gradient, one or two images at a time, so that the
shifted copies stay in cache instead of making passes over memory.
"""
import jax
import jax.numpy as jnp
from jax import lax

_LAYOUT = ("NHWC", "HWIO", "NHWC")
# Pixels per step of the kernel gradient's loop: two 64x128 images. Fewer
# steps cost loop overhead; more spill the shifted copies out of the cache.
_CHUNK_PIXELS = 16384


def _conv(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
  return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=_LAYOUT)


def _width_shifts(x: jnp.ndarray) -> jnp.ndarray:
  """[B, H, W, C] -> [3C, B, H + 2, W]: row jC + c is channel c shifted by j - 1
  along the width; zero padded, and one zero row above and below."""
  width = x.shape[2]
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))).transpose(3, 0, 1, 2)
  return jnp.concatenate([padded[..., j:j + width] for j in range(3)])


def _chunk_kernel_gradient(x: jnp.ndarray, grad_output: jnp.ndarray) -> jnp.ndarray:
  """The kernel gradient of a few images, [3, 3C_in, C_out].

  The width shifts are copied side by side, channel-major, so that each
  product is row-major times row-major (which XLA's CPU runs fastest); the
  height shifts are slices of them, one product each. 12 copies of x in all,
  against the 18 of an im2col (9 shifts, then their 9-wide concatenation).
  """
  height = x.shape[1]
  shifted = _width_shifts(x)
  grad_rows = grad_output.reshape(-1, grad_output.shape[-1])
  return jnp.stack([shifted[:, :, i:i + height].reshape(shifted.shape[0], -1) @ grad_rows
                    for i in range(3)])


def _chunk_size(batch: int, pixels: int) -> int:
  """The largest divisor of `batch` whose images hold at most _CHUNK_PIXELS pixels (at least 1)."""
  fits = max(1, _CHUNK_PIXELS // pixels)
  return max(d for d in range(1, min(batch, fits) + 1) if batch % d == 0)


def kernel_gradient(x: jnp.ndarray, grad_output: jnp.ndarray) -> jnp.ndarray:
  """x [B, H, W, C_in], grad_output [B, H, W, C_out] -> [3, 3, C_in, C_out]:
  the gradient of sum(grad_output * conv3x3(x, kernel)) with respect to the kernel."""
  batch, height, width, channels_in = x.shape
  channels_out = grad_output.shape[-1]
  chunk = _chunk_size(batch, height * width)

  def add_chunk(index, total):
    # Slicing inside the loop (not reshaping outside it) lets XLA reuse x's
    # buffer rather than recompute x's producer into a second one.
    x_chunk = lax.dynamic_slice_in_dim(x, index * chunk, chunk)
    grad_chunk = lax.dynamic_slice_in_dim(grad_output, index * chunk, chunk)
    return total + _chunk_kernel_gradient(x_chunk, grad_chunk)

  # The first chunk starts the sum rather than zeros: under shard_map the
  # loop's carry must vary over devices as the data does.
  total = lax.fori_loop(1, batch // chunk, add_chunk,
                        _chunk_kernel_gradient(x[:chunk], grad_output[:chunk]))
  return total.reshape(3, 3, channels_in, channels_out)


@jax.custom_vjp
def conv3x3(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
  """x [B, H, W, C_in] * kernel [3, 3, C_in, C_out] -> [B, H, W, C_out], SAME padding."""
  return _conv(x, kernel)


def _conv3x3_forward(x, kernel):
  return _conv(x, kernel), (x, kernel)


def _conv3x3_backward(residuals, grad_output):
  x, kernel = residuals
  grad_x = _conv(grad_output, jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2))
  return grad_x, kernel_gradient(x, grad_output)


conv3x3.defvjp(_conv3x3_forward, _conv3x3_backward)
