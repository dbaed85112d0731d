import flax.linen as nn
import jax
import numpy as np

from emojax.models import initializers


def test_lecun_normal_matches_flax_in_distribution():
  shape = (3, 3, 16, 64)
  ours = np.asarray(initializers.lecun_normal(jax.random.key(0), shape))
  flax = np.asarray(nn.initializers.lecun_normal()(jax.random.key(0), shape))
  assert ours.shape == shape and ours.dtype == np.float32
  np.testing.assert_allclose(ours.std(), np.sqrt(1 / (3 * 3 * 16)), rtol=0.03)
  np.testing.assert_allclose(ours.std(), flax.std(), rtol=0.03)
  np.testing.assert_allclose(np.abs(ours).max(), np.abs(flax).max(), rtol=0.05)  # Truncated alike.
