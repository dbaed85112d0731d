import jax.numpy as jnp
import numpy as np
import pytest

from emojax import losses

HEADS = ("joint", "audio_probe", "image_probe")


def test_cross_entropy_matches_hand_computation():
  logits = jnp.array([[0.0, np.log(3.0)]])  # p(class 1) = 3/4
  np.testing.assert_allclose(losses.cross_entropy(logits, jnp.array([1])), -np.log(0.75),
                             rtol=1e-6)


def test_cross_entropy_mask_excludes_padding():
  logits = jnp.array([[0.0, 0.0], [10.0, -10.0]])
  labels = jnp.array([0, 1])
  np.testing.assert_allclose(
      losses.cross_entropy(logits, labels, jnp.array([1.0, 0.0])), np.log(2.0), rtol=1e-6)


def test_composite_loss_is_weighted_sum_of_terms():
  outputs = {"logits": {"joint": jnp.array([[0.0, 0.0]]),
                        "audio_probe": jnp.array([[0.0, np.log(3.0)]]),
                        "image_probe": jnp.array([[5.0, 0.0]])}}
  loss_fn = losses.composite_loss({"joint_ce": 1.0, "audio_probe_ce": 2.0}, HEADS)
  total, terms = loss_fn(outputs, {"label": jnp.array([1])})
  assert set(terms) == {"joint_ce", "audio_probe_ce"}
  np.testing.assert_allclose(terms["joint_ce"], np.log(2.0), rtol=1e-6)
  np.testing.assert_allclose(total, np.log(2.0) - 2.0 * np.log(0.75), rtol=1e-6)


@pytest.mark.parametrize("term", ["joint", "text_probe_ce"])
def test_composite_loss_rejects_unknown_term(term):
  with pytest.raises(ValueError, match=f"config.loss.{term}"):
    losses.composite_loss({term: 1.0}, HEADS)
