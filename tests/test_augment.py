"""SpecAugment-style masks on the MFCCs, mixup, and dropout in the fusion network."""
import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import common
from emojax import augment
from emojax import losses
from emojax.models import fusion


def _augment_config(**values) -> ml_collections.ConfigDict:
  config = common.get_base_config().augment
  config.update(values)
  return config


def _runs_of_false(row: np.ndarray) -> list[int]:
  """Lengths of the runs of False in a bool row."""
  lengths, current = [], 0
  for keep in row:
    if keep:
      if current:
        lengths.append(current)
      current = 0
    else:
      current += 1
  return lengths + ([current] if current else [])


def test_bands_are_at_most_as_many_and_as_wide_as_asked():
  keep = np.asarray(augment.keep_outside_bands(jax.random.key(0), 64, 128, 2, 16))
  assert keep.shape == (64, 128)
  for row in keep:
    runs = _runs_of_false(row)
    assert len(runs) <= 2
    assert sum(runs) <= 32 and all(run <= 32 for run in runs)  # Two bands may touch.
  # Over 64 rows, widths uniform in [0, 16]: some rows are masked.
  assert (~keep).sum() > 64 * 8


def test_bands_of_width_zero_keep_everything_and_widths_are_capped_at_the_length():
  assert bool(augment.keep_outside_bands(jax.random.key(1), 8, 40, 3, 0).all())
  keep = augment.keep_outside_bands(jax.random.key(2), 256, 5, 1, 100)
  assert (~keep).sum(axis=1).max() <= 5
  assert bool((~keep).all(axis=1).any())  # Some band covers the whole row.


def test_time_masks_zero_whole_frames_and_mfcc_masks_whole_coefficients():
  mfcc = jax.random.normal(jax.random.key(3), (16, 40, 128)) + 5.0  # No zeros of its own.
  times = augment.mask_mfcc(mfcc, jax.random.key(4), _augment_config(time_masks=2))
  zero = np.asarray(times == 0)
  chex.assert_trees_all_equal(zero.all(axis=1), zero.any(axis=1))  # Columns: all or none.
  assert zero.any()
  np.testing.assert_array_equal(np.asarray(times)[~zero], np.asarray(mfcc)[~zero])

  rows = augment.mask_mfcc(mfcc, jax.random.key(4), _augment_config(mfcc_masks=2))
  zero = np.asarray(rows == 0)
  chex.assert_trees_all_equal(zero.all(axis=2), zero.any(axis=2))  # Rows: all or none.
  assert zero.any() and (~zero.any(axis=2)).sum(axis=1).min() >= 40 - 12


def test_masks_depend_only_on_the_key():
  mfcc = jnp.ones((4, 40, 128))
  config = _augment_config(time_masks=2, mfcc_masks=2)
  first = augment.mask_mfcc(mfcc, jax.random.key(5), config)
  chex.assert_trees_all_equal(first, augment.mask_mfcc(mfcc, jax.random.key(5), config))
  assert not np.array_equal(first, augment.mask_mfcc(mfcc, jax.random.key(6), config))


def test_training_windows_are_whole_windows_drawn_per_example_by_the_key():
  windows = jnp.arange(8.0 * 3)[:, None, None].reshape(8, 3, 1, 1) * jnp.ones((8, 3, 4, 5))
  batch = {"audio": windows, "label": jnp.zeros(8, jnp.int32)}
  picked = augment.augment_batch(batch, jax.random.key(0), _augment_config())["audio"]
  assert picked.shape == (8, 4, 5)
  chosen = np.asarray(picked[:, 0, 0]) - 3 * np.arange(8)  # Example i's window w holds 3i + w.
  assert set(chosen) <= {0, 1, 2} and len(set(chosen)) > 1
  np.testing.assert_array_equal(picked, windows[np.arange(8), chosen.astype(int)])
  again = augment.augment_batch(batch, jax.random.key(0), _augment_config())["audio"]
  chex.assert_trees_all_equal(picked, again)


def test_a_batch_without_audio_or_with_augmentation_off_is_unchanged():
  batch = {"au": jnp.ones((2, 35)), "label": jnp.zeros(2, jnp.int32)}
  on = _augment_config(time_masks=2)
  assert augment.augment_batch(batch, jax.random.key(0), on) is batch
  with_audio = {**batch, "audio": jnp.ones((2, 40, 128))}
  assert augment.augment_batch(with_audio, jax.random.key(0), _augment_config()) is with_audio


def test_mixup_mixes_every_input_with_one_partner_by_the_same_weight():
  batch = {"audio": jnp.arange(4.0)[:, None, None] * jnp.ones((4, 2, 3)),
           "au": jnp.arange(4.0)[:, None] * jnp.ones((4, 5)),
           "image": jnp.full((4, 2, 4, 3), 200, jnp.uint8),
           "label": jnp.array([0, 1, 2, 3], jnp.int32)}
  mixed = augment.augment_batch(batch, jax.random.key(3), _augment_config(mixup=0.4))
  weight, partner = np.asarray(mixed["mix_weight"]), np.asarray(mixed["mix_label"])
  assert sorted(partner) == [0, 1, 2, 3] and ((weight > 0) & (weight < 1)).all()
  expected = weight * np.arange(4) + (1 - weight) * partner  # Label i's inputs hold i.
  np.testing.assert_allclose(mixed["audio"][:, 0, 0], expected, rtol=1e-6)
  np.testing.assert_allclose(mixed["au"][:, 0], expected, rtol=1e-6)
  assert mixed["image"].dtype == jnp.float32
  np.testing.assert_allclose(mixed["image"], 200, rtol=1e-6)  # Equal images stay equal.
  np.testing.assert_array_equal(mixed["label"], batch["label"])


def test_mixup_loss_weighs_both_labels_by_the_mixing_weight():
  loss_config = ml_collections.ConfigDict({"terms": {"joint_ce": 1.0}, "label_smoothing": 0.0})
  loss_fn = losses.composite_loss(loss_config, ("joint",), ("au",))
  logits = jnp.log(jnp.array([[0.7, 0.2, 0.1]]))
  batch = {"label": jnp.array([0]), "mix_label": jnp.array([1]), "mix_weight": jnp.array([0.25])}
  _, terms = loss_fn({"logits": {"joint": logits}}, batch, {})
  np.testing.assert_allclose(terms["joint_ce"], -(0.25 * np.log(0.7) + 0.75 * np.log(0.2)),
                             rtol=1e-5)


@pytest.fixture(scope="module")
def model_and_inputs():
  config = common.get_model_config("au")
  config.update(audio_widths=(4, 8), au_widths=(16,), embed_dim=16, joint_hidden=(16,),
                probes=True, probe_hidden=(16,), dropout=0.5)
  model = fusion.build_model(config)
  inputs = {"audio": jax.random.normal(jax.random.key(0), (4, 40, 128)),
            "au": jax.random.normal(jax.random.key(1), (4, 35))}
  params = model.init(jax.random.key(2), **inputs)["params"]
  return model, params, inputs


def test_dropout_acts_in_training_only(model_and_inputs):
  model, params, inputs = model_and_inputs
  evaluate = lambda: model.apply({"params": params}, **inputs)["logits"]
  chex.assert_trees_all_equal(evaluate(), evaluate())
  train = lambda key: model.apply({"params": params}, **inputs, train=True,
                                  rngs={"dropout": jax.random.key(key)})["logits"]
  chex.assert_trees_all_equal(train(7), train(7))
  for head in model.heads:
    assert not np.allclose(train(7)[head], train(8)[head]), head
    assert not np.allclose(train(7)[head], evaluate()[head]), head


def test_without_dropout_training_mode_needs_no_rng_and_changes_nothing(model_and_inputs):
  model, params, inputs = model_and_inputs
  model = model.clone(dropout=0.0)
  chex.assert_trees_all_equal(model.apply({"params": params}, **inputs, train=True),
                              model.apply({"params": params}, **inputs))
