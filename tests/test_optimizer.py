"""Optimisers and schedules built from config."""
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import common
from emojax import train


def _optimizer_config(**overrides):
  config = common.get_base_config().optimizer
  config.update(overrides)
  return config


def _updates(optimizer, grads, params, steps):
  state = optimizer.init(params)
  history = []
  for _ in range(steps):
    updates, state = optimizer.update(grads, state, params)
    history.append(float(updates["w"][0]))
  return history


def test_default_is_sgd_with_momentum():
  optimizer = train.create_optimizer(_optimizer_config(), steps_per_epoch=10, total_steps=20)
  updates = _updates(optimizer, {"w": jnp.ones(1)}, {"w": jnp.zeros(1)}, 3)
  np.testing.assert_allclose(updates, [-0.01, -0.019, -0.0271], rtol=1e-5)


def test_warmup_then_cosine_schedule():
  config = _optimizer_config(momentum=0.0, schedule="cosine", warmup_epochs=1.0)
  optimizer = train.create_optimizer(config, steps_per_epoch=2, total_steps=6)
  updates = _updates(optimizer, {"w": jnp.ones(1)}, {"w": jnp.zeros(1)}, 6)
  # Warm-up 0 -> 0.01 over 2 steps, then cosine from 0.01 to 0 over 4 steps.
  expected = [0.0, 0.005, 0.01, 0.01 * 0.5 * (1 + np.cos(np.pi / 4)), 0.005,
              0.01 * 0.5 * (1 + np.cos(3 * np.pi / 4))]
  np.testing.assert_allclose(np.negative(updates), expected, rtol=1e-5, atol=1e-9)


def test_clipping_bounds_the_gradient_norm():
  config = _optimizer_config(momentum=0.0, clip_global_norm=1.0)
  optimizer = train.create_optimizer(config, steps_per_epoch=1, total_steps=1)
  updates = _updates(optimizer, {"w": jnp.array([30.0, 40.0])}, {"w": jnp.zeros(2)}, 1)
  np.testing.assert_allclose(updates, [-0.01 * 0.6], rtol=1e-5)


def test_weight_decay_pulls_weights_to_zero():
  config = _optimizer_config(name="adamw", weight_decay=0.1)
  optimizer = train.create_optimizer(config, steps_per_epoch=1, total_steps=1)
  updates = _updates(optimizer, {"w": jnp.zeros(1)}, {"w": jnp.ones(1)}, 1)
  np.testing.assert_allclose(updates, [-0.01 * 0.1], rtol=1e-5)


@pytest.mark.parametrize("field,value", [("name", "lion"), ("schedule", "step")])
def test_unknown_choice_names_its_key(field, value):
  with pytest.raises(ValueError, match=f"config.optimizer.{field}"):
    train.create_optimizer(_optimizer_config(**{field: value}), 1, 1)
