"""Training-time augmentation, inside the jitted train step.

SpecAugment-style masks (Park et al., 2019): bands of frames and of coefficients
set to zero, which after per-utterance normalisation is each coefficient's mean,
so that the audio network cannot lean on any one moment or coefficient of an
actor's voice. Mixup (Zhang et al., 2018): each example's inputs mixed with
another example's, the loss weighing both labels alike. Random windows: each
clip's audio one of its evaluation windows, so that the network trains on the
parts of a clip that averaged scoring reads. Pure functions of (batch, key);
evaluation never calls them.
"""
import jax
import jax.numpy as jnp
import ml_collections

Batch = dict[str, jnp.ndarray]


def keep_outside_bands(key: jax.Array, batch_size: int, length: int, num_bands: int,
                       max_width: int) -> jnp.ndarray:
  """A [batch_size, length] bool mask, False inside `num_bands` random bands per row.

  Each band's width is uniform in [0, max_width] (capped at `length`) and its
  start uniform among the positions where it fits; bands may overlap.
  """
  width_key, start_key = jax.random.split(key)
  widths = jax.random.randint(width_key, (batch_size, num_bands), 0,
                              min(max_width, length) + 1)
  room = (length - widths + 1).astype(jnp.float32)
  starts = jnp.floor(jax.random.uniform(start_key, (batch_size, num_bands)) * room)
  starts = starts.astype(jnp.int32)
  positions = jnp.arange(length)
  inside = ((positions >= starts[..., None]) & (positions < (starts + widths)[..., None]))
  return ~inside.any(axis=1)


def mask_mfcc(mfcc: jnp.ndarray, key: jax.Array,
              augment_config: ml_collections.ConfigDict) -> jnp.ndarray:
  """[batch, n_mfcc, frames] MFCCs with random time and coefficient bands zeroed."""
  batch_size, n_mfcc, frames = mfcc.shape
  time_key, coefficient_key = jax.random.split(key)
  keep = jnp.ones((batch_size, n_mfcc, frames), bool)
  if augment_config.time_masks:
    keep &= keep_outside_bands(time_key, batch_size, frames, augment_config.time_masks,
                               augment_config.time_mask_frames)[:, None, :]
  if augment_config.mfcc_masks:
    keep &= keep_outside_bands(coefficient_key, batch_size, n_mfcc,
                               augment_config.mfcc_masks,
                               augment_config.mfcc_mask_coefficients)[:, :, None]
  return jnp.where(keep, mfcc, 0).astype(mfcc.dtype)


# The inputs mixup mixes; face images become float32 (the network scales them
# as it scales uint8 ones).
MIXED_INPUTS = ("audio", "image", "au", "acoustic")


def mixup(batch: Batch, key: jax.Array, alpha: float) -> Batch:
  """Each example's inputs mixed with a random partner's from the batch:
  w x + (1 - w) x', w ~ Beta(alpha, alpha) per example. The partner's label is
  `mix_label` and w `mix_weight`, which the loss weighs the two labels by."""
  weight_key, partner_key = jax.random.split(key)
  size = batch["label"].shape[0]
  weight = jax.random.beta(weight_key, alpha, alpha, (size,))
  partner = jax.random.permutation(partner_key, size)
  mixed = dict(batch, mix_label=batch["label"][partner], mix_weight=weight)
  for name in MIXED_INPUTS:
    if name in batch:
      inputs = batch[name].astype(jnp.float32)
      w = weight.reshape((size,) + (1,) * (inputs.ndim - 1))
      mixed[name] = w * inputs + (1 - w) * inputs[partner]
  return mixed


def pick_windows(windows: jnp.ndarray, key: jax.Array) -> jnp.ndarray:
  """[batch, windows, ...] -> [batch, ...]: one window per example, uniformly at random."""
  chosen = jax.random.randint(key, (windows.shape[0],), 0, windows.shape[1])
  return windows[jnp.arange(windows.shape[0]), chosen]


def augment_batch(batch: Batch, key: jax.Array,
                  augment_config: ml_collections.ConfigDict) -> Batch:
  """The batch with one of each clip's audio windows drawn (audio with a window
  axis: config.data.train_on_windows), its audio masked and its examples mixed,
  as configured."""
  if "audio" in batch and batch["audio"].ndim == 4:
    batch = {**batch, "audio": pick_windows(batch["audio"], jax.random.fold_in(key, 2))}
  if "audio" in batch and (augment_config.time_masks or augment_config.mfcc_masks):
    batch = {**batch, "audio": mask_mfcc(batch["audio"], key, augment_config)}
  if augment_config.get("mixup", 0.0):
    batch = mixup(batch, jax.random.fold_in(key, 1), augment_config.mixup)
  return batch
