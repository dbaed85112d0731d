"""A 2x2 max-pool whose gradient is one select (XLA's CPU gradient of reduce_window is slow)."""
import jax
import jax.numpy as jnp


def _window_corners(x: jnp.ndarray) -> list[jnp.ndarray]:
  """[B, H, W, C] (H, W even) -> the 2x2 windows' 4 corners, each [B, H/2, W/2, C],
  in row-major order within the window."""
  batch, height, width, channels = x.shape
  windows = x.reshape(batch, height // 2, 2, width // 2, 2, channels)
  return [windows[:, :, i, :, j] for i in range(2) for j in range(2)]


def max_and_first_corner(corners: list[jnp.ndarray]) -> tuple[jnp.ndarray, jnp.ndarray]:
  """4 windows' corners -> each window's maximum, and the position (0-3) of its
  first maximum, int8."""
  pooled = jnp.maximum(jnp.maximum(corners[0], corners[1]), jnp.maximum(corners[2], corners[3]))
  first = jnp.where(corners[0] == pooled, 0,
                    jnp.where(corners[1] == pooled, 1, jnp.where(corners[2] == pooled, 2, 3)))
  return pooled, first.astype(jnp.int8)


def corner_gradients(first: jnp.ndarray, grad_pooled: jnp.ndarray) -> list[jnp.ndarray]:
  """The max-pool's input gradient as 4 corners: each window's gradient goes to
  its first maximum (`first`, from max_and_first_corner), as nn.max_pool's does."""
  return [jnp.where(first == position, grad_pooled, 0) for position in range(4)]


@jax.custom_vjp
def _max_of_windows(x: jnp.ndarray) -> jnp.ndarray:
  return max_and_first_corner(_window_corners(x))[0]


def _max_of_windows_forward(x):
  # The argmax, not x, is kept: a quarter of the pixels, in int8.
  return max_and_first_corner(_window_corners(x))


def _max_of_windows_backward(first, grad_pooled):
  # corner_gradients laid out in their windows, as one select.
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
