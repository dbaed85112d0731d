"""A 3x3 SAME convolution computed as loops of cache-sized matrix products.

On CPU, XLA runs a convolution's forward pass and input gradient on one
thread, and its kernel gradient slowly (as a convolution with an image-sized
kernel). `conv3x3` computes all three as matrix products, which use every
core, a few images at a time, so that the shifted copies they need stay in
cache instead of making passes over memory:
- output and input gradient (the same convolution with the kernel flipped and
  its channels swapped): shift whichever side has fewer channels, the input
  before the products or their result after. Below 32 channels on either
  side the products are too thin to beat XLA's one thread, so XLA runs those;
- kernel gradient: products of shifted inputs with the output gradient.
"""
import jax
import jax.numpy as jnp
from jax import lax

# Pixels per step of the loops: one 64x128 image. Fewer cost loop overhead;
# more spill the shifted copies out of the cache (measured on 2 cores).
_CHUNK_PIXELS = 8192
_MATMUL_MIN_CHANNELS = 32


def _width_shifts(x: jnp.ndarray) -> jnp.ndarray:
  """[B, H, W, C] -> [B, H + 2, W, 3C]: channel jC + c is channel c shifted by
  j - 1 along the width; zero padded, with one zero row above and below."""
  width = x.shape[2]
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  return jnp.concatenate([padded[:, :, j:j + width] for j in range(3)], axis=-1)


def _chunk_kernel_gradient(x: jnp.ndarray, grad_output: jnp.ndarray) -> jnp.ndarray:
  """The kernel gradient of a few images, [3, 3C_in, C_out].

  x's width shifts (pixel-major) times the output gradient, once per height
  shift: two zero rows under each image's gradient line it up with the padded
  input, so that height shift i is the contiguous rows from i * W on, and x
  is copied once (an im2col copies it 9 times). The narrower operand is
  transposed: the gradient for 32->64 layers (1.3x faster than transposing
  x, 2x for 16->32), x for the first layers (1 or 3 channels in).
  """
  batch, height, width, channels_in = x.shape
  channels_out = grad_output.shape[-1]
  shifted = _width_shifts(x).reshape(-1, 3 * channels_in)
  rows = (batch * (height + 2) - 2) * width
  grad_rows = jnp.pad(grad_output, ((0, 0), (0, 2), (0, 0), (0, 0))).reshape(-1, channels_out)[:rows]
  height_shifts = [shifted[i * width:i * width + rows] for i in range(3)]
  if 3 * channels_in < channels_out:
    return jnp.stack([shift.T @ grad_rows for shift in height_shifts])
  grad_t = grad_rows.T
  return jnp.stack([(grad_t @ shift).T for shift in height_shifts])


def _chunk_size(batch: int, pixels: int, chunk_pixels: int) -> int:
  """The largest divisor of `batch` whose images hold at most `chunk_pixels` pixels (at least 1)."""
  fits = max(1, chunk_pixels // pixels)
  return max(d for d in range(1, min(batch, fits) + 1) if batch % d == 0)


def _shift_inputs_conv(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
  """The convolution as x's three width shifts side by side [B, H + 2, W, 3C]
  times the kernel's three rows side by side [3C, 3C_out], one product; then
  the result's three column blocks, each at its height shift, summed (copying
  the narrower output, not three height shifts of the input: 13-15% faster)."""
  batch, height, width, channels = x.shape
  channels_out = kernel.shape[-1]
  shifted = _width_shifts(x)
  rows = kernel.reshape(3, 3 * channels, channels_out).transpose(1, 0, 2)
  products = shifted.reshape(-1, 3 * channels) @ rows.reshape(3 * channels, 3 * channels_out)
  products = products.reshape(batch, height + 2, width, 3, channels_out)
  return sum(products[:, i:i + height, :, i] for i in range(3))


def _shift_outputs_conv(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
  """The convolution as x's height shifts times each kernel row's three
  columns side by side [C, 3C_out], summed; then the three column blocks,
  each at its width shift, summed."""
  batch, height, width, channels = x.shape
  channels_out = kernel.shape[-1]
  padded = jnp.pad(x, ((0, 0), (1, 1), (0, 0), (0, 0)))
  rows = kernel.transpose(0, 2, 1, 3).reshape(3, channels, 3 * channels_out)
  products = sum(padded[:, i:i + height].reshape(-1, channels) @ rows[i] for i in range(3))
  columns = jnp.pad(products.reshape(batch, height, width, 3, channels_out),
                    ((0, 0), (0, 0), (1, 1), (0, 0), (0, 0)))
  return sum(columns[:, :, j:j + width, j] for j in range(3))


def convolve(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
  """x [B, H, W, C_in] * kernel [3, 3, C_in, C_out] -> [B, H, W, C_out], SAME
  padding, a few images per step of a loop."""
  batch, height, width, channels_in = x.shape
  channels_out = kernel.shape[-1]
  if min(channels_in, channels_out) < _MATMUL_MIN_CHANNELS:
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))
  chunk = _chunk_size(batch, height * width, _CHUNK_PIXELS)
  # The copies cost less on the side with fewer channels.
  chunk_conv = _shift_inputs_conv if channels_in <= channels_out else _shift_outputs_conv

  def convolve_chunk(index, output):
    x_chunk = lax.dynamic_slice_in_dim(x, index * chunk, chunk)
    return lax.dynamic_update_slice_in_dim(output, chunk_conv(x_chunk, kernel), index * chunk, 0)

  # Started from the first chunk, not zeros: under shard_map the loop's carry
  # must vary over devices as the data does.
  first = chunk_conv(x[:chunk], kernel)
  output = jnp.zeros((batch, height, width, channels_out), first.dtype)
  return lax.fori_loop(1, batch // chunk, convolve_chunk,
                       lax.dynamic_update_slice_in_dim(output, first, 0, 0))


def kernel_gradient(x: jnp.ndarray, grad_output: jnp.ndarray) -> jnp.ndarray:
  """x [B, H, W, C_in], grad_output [B, H, W, C_out] -> [3, 3, C_in, C_out]:
  the gradient of sum(grad_output * conv3x3(x, kernel)) with respect to the kernel."""
  batch, height, width, channels_in = x.shape
  channels_out = grad_output.shape[-1]
  chunk = _chunk_size(batch, height * width, _CHUNK_PIXELS)

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
  return convolve(x, kernel)


def _conv3x3_forward(x, kernel):
  return convolve(x, kernel), (x, kernel)


def _conv3x3_backward(residuals, grad_output):
  x, kernel = residuals
  grad_x = convolve(grad_output, jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2))
  return grad_x, kernel_gradient(x, grad_output)


conv3x3.defvjp(_conv3x3_forward, _conv3x3_backward)
