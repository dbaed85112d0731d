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

An encoder's last layer, with its ReLU and max-pool, runs in fused_conv.py.
"""
import jax
import jax.numpy as jnp
from jax import lax


# Pixels per step of the loops: one 64x128 image. Fewer cost loop overhead;
# more spill the shifted copies out of the cache (measured on 2 cores).
_CHUNK_PIXELS = 8192
_MATMUL_MIN_CHANNELS = 32
# The thin layers' kernel gradient takes two images per step.
_THIN_CHUNK_PIXELS = 16384


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
  is copied once (an im2col copies it 9 times); the gradient is transposed.
  1.3x faster than the channel-major form below for 32->64 layers.
  """
  batch, height, width, channels_in = x.shape
  channels_out = grad_output.shape[-1]
  shifted = _width_shifts(x).reshape(-1, 3 * channels_in)
  rows = (batch * (height + 2) - 2) * width
  grad_t = jnp.pad(grad_output, ((0, 0), (0, 2), (0, 0), (0, 0))).reshape(-1, channels_out)[:rows].T
  return jnp.stack([(grad_t @ shifted[i * width:i * width + rows]).T for i in range(3)])


def _thin_chunk_kernel_gradient(x: jnp.ndarray, grad_output: jnp.ndarray) -> jnp.ndarray:
  """_chunk_kernel_gradient for layers with under 32 channels on a side (the
  study's default widths): x's width shifts channel-major, their height shifts
  copied, times the gradient. The other form is 2x faster for 16->32 layers,
  but it rounds differently and so changes the trajectories of the trainings
  whose results the README reports; these keep this one until they are rerun.
  """
  height, width = x.shape[1:3]
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))).transpose(3, 0, 1, 2)
  shifted = jnp.concatenate([padded[..., j:j + width] for j in range(3)])
  grad_rows = grad_output.reshape(-1, grad_output.shape[-1])
  return jnp.stack([shifted[:, :, i:i + height].reshape(shifted.shape[0], -1) @ grad_rows
                    for i in range(3)])


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


def _chunk_convolution(channels_in: int, channels_out: int):
  # The copies cost less on the side with fewer channels.
  return _shift_inputs_conv if channels_in <= channels_out else _shift_outputs_conv


def uses_matmuls(channels_in: int, channels_out: int) -> bool:
  """Whether a layer's products are wide enough to beat XLA's convolution."""
  return min(channels_in, channels_out) >= _MATMUL_MIN_CHANNELS


def loop_over_chunks(chunk_fn, chunk: int, num_stacked: int, *arrays):
  """chunk_fn over `chunk` images of each of `arrays` at a time, in a loop. Of
  the tuple it returns, the first `num_stacked` are stacked over the batch, the
  rest summed; returns (stacked, sums)."""
  batch = arrays[0].shape[0]
  # Started from the first chunk, not zeros: under shard_map the loop's carry
  # must vary over devices as the data does.
  first = chunk_fn(*(a[:chunk] for a in arrays))
  stacked = [lax.dynamic_update_slice_in_dim(jnp.zeros((batch,) + r.shape[1:], r.dtype), r, 0, 0)
             for r in first[:num_stacked]]

  def add_chunk(index, carry):
    stacked, sums = carry
    start = index * chunk
    # Slicing inside the loop (not reshaping outside it) lets XLA reuse the
    # arrays' buffers rather than recompute their producers into second ones.
    results = chunk_fn(*(lax.dynamic_slice_in_dim(a, start, chunk) for a in arrays))
    return ([lax.dynamic_update_slice_in_dim(o, r, start, 0) for o, r in zip(stacked, results)],
            [s + r for s, r in zip(sums, results[num_stacked:])])

  return lax.fori_loop(1, batch // chunk, add_chunk, (stacked, list(first[num_stacked:])))


def chunk_of(x: jnp.ndarray) -> int:
  """Images per loop step for x [B, H, W, C]: as many as _CHUNK_PIXELS hold."""
  return _chunk_size(x.shape[0], x.shape[1] * x.shape[2], _CHUNK_PIXELS)


def convolve(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
  """x [B, H, W, C_in] * kernel [3, 3, C_in, C_out] -> [B, H, W, C_out], SAME
  padding, a few images per step of a loop."""
  channels_in, channels_out = kernel.shape[2:]
  if not uses_matmuls(channels_in, channels_out):
    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))
  chunk_conv = _chunk_convolution(channels_in, channels_out)
  (output,), _ = loop_over_chunks(lambda x: (chunk_conv(x, kernel),), chunk_of(x), 1, x)
  return output


def kernel_gradient(x: jnp.ndarray, grad_output: jnp.ndarray) -> jnp.ndarray:
  """x [B, H, W, C_in], grad_output [B, H, W, C_out] -> [3, 3, C_in, C_out]:
  the gradient of sum(grad_output * conv3x3(x, kernel)) with respect to the kernel."""
  batch, height, width, channels_in = x.shape
  channels_out = grad_output.shape[-1]
  if uses_matmuls(channels_in, channels_out):
    chunk_gradient, chunk = _chunk_kernel_gradient, chunk_of(x)
  else:
    chunk_gradient = _thin_chunk_kernel_gradient
    chunk = _chunk_size(batch, height * width, _THIN_CHUNK_PIXELS)
  _, (total,) = loop_over_chunks(lambda x, g: (chunk_gradient(x, g),), chunk, 0, x, grad_output)
  return total.reshape(3, 3, channels_in, channels_out)


def _flipped(kernel: jnp.ndarray) -> jnp.ndarray:
  """The kernel of the input gradient's convolution: flipped, channels swapped."""
  return jnp.flip(kernel, (0, 1)).transpose(0, 1, 3, 2)


@jax.custom_vjp
def conv3x3(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
  """x [B, H, W, C_in] * kernel [3, 3, C_in, C_out] -> [B, H, W, C_out], SAME padding."""
  return convolve(x, kernel)


def _conv3x3_forward(x, kernel):
  return convolve(x, kernel), (x, kernel)


def _conv3x3_backward(residuals, grad_output):
  x, kernel = residuals
  grad_x = convolve(grad_output, _flipped(kernel))
  return grad_x, kernel_gradient(x, grad_output)


conv3x3.defvjp(_conv3x3_forward, _conv3x3_backward)
