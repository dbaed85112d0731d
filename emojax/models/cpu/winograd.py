"""Winograd's F(2x2, 3x3) (Lavin & Gray, 2016): a 3x3 convolution's 2x2 output
tiles from 4x4 input tiles with 16 products, where direct convolution takes 36.

For C_in -> C_out channels, the convolution becomes 16 matrix products
[tiles, C_in] x [C_in, C_out], one per position in the 4x4 transformed tile
(index 4a + b): `input_tiles` transforms the input, `kernel_transform` the
kernel, and `output_corners` turns the 16 products into each tile's four
outputs. The transforms are additions (and halves, in the kernel's), so the
result rounds a little differently from a direct convolution (about 1e-7 of
its values, tested). Height and width must be even: the output tiles are the
2x2 windows of a max-pool (SAME padding of 1).
"""
import jax
import jax.numpy as jnp

# G (4x3): the kernel transform G g G^T.
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))


def _input_rows(d: list) -> list:
  """B^T (4x4) applied across 4 rows of tiles."""
  return [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]


def _output_rows(m: list) -> list:
  """A^T (2x4) applied across 4 rows of transformed tiles."""
  return [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]


def _output_rows_transpose(d: list) -> list:
  """A (4x2), _output_rows' transpose, across 2 rows of gradients."""
  return [d[0], d[0] + d[1], d[0] - d[1], -d[1]]


def kernel_transform(kernel: jnp.ndarray) -> jnp.ndarray:
  """[3, 3, C_in, C_out] -> [16, C_in, C_out], G g G^T per channel pair."""
  g = jnp.asarray(_G, kernel.dtype)
  return jnp.einsum("ai,ijco,bj->abco", g, kernel, g).reshape(16, *kernel.shape[2:])


def kernel_transform_transpose(grad_transformed: jnp.ndarray) -> jnp.ndarray:
  """kernel_transform's transpose: [16, C_in, C_out] -> [3, 3, C_in, C_out], G^T d G."""
  g = jnp.asarray(_G, grad_transformed.dtype)
  grad_tiles = grad_transformed.reshape(4, 4, *grad_transformed.shape[1:])
  return jnp.einsum("ai,abco,bj->ijco", g, grad_tiles, g)


def input_tiles(x: jnp.ndarray) -> list[jnp.ndarray]:
  """x [n, H, W, C] (H, W even) -> 16 matrices [n * H/2 * W/2, C], B^T d B of each
  zero-padded 4x4 input tile d (tiles overlap by 2; row-major over n, H/2, W/2)."""
  height, width, channels = x.shape[1:]
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  rows = _input_rows([padded[:, k:k + height:2] for k in range(4)])
  return [tile.reshape(-1, channels) for row in rows
          for tile in _input_rows([row[:, :, k:k + width:2] for k in range(4)])]


def output_corners(products: list[jnp.ndarray]) -> list[jnp.ndarray]:
  """The 16 products [T, C_out] -> each tile's 4 outputs [T, C_out], A^T m A,
  in row-major order within the tile (a 2x2 pool window's order)."""
  columns = [_output_rows([products[4 * a + b] for a in range(4)]) for b in range(4)]
  return [corner for i in range(2) for corner in _output_rows([column[i] for column in columns])]



def output_corners_transpose(grad_corners: list[jnp.ndarray]) -> list[jnp.ndarray]:
  """output_corners' transpose: the 4 corners' gradients [T, C_out] -> the 16
  products' gradients [T, C_out], A d A^T."""
  rows = [_output_rows_transpose(grad_corners[2 * i:2 * i + 2]) for i in range(2)]
  columns = [_output_rows_transpose([row[b] for row in rows]) for b in range(4)]
  return [columns[b][a] for a in range(4) for b in range(4)]
