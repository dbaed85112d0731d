"""A run directory's network: restored from its config.json and checkpoint
(through emojax.run_dir), and applied."""
import functools
import os

import jax
import ml_collections
import numpy as np
import optax

from emojax import checkpoints
from emojax import run_dir
from emojax.data import acoustic as acoustic_lib
from emojax.data import action_units
from emojax.data import audio as audio_lib
from emojax.data import features as features_lib
from emojax.data import pipeline
from emojax.data import video as video_lib
from emojax.models import fusion

# The run directory cannot be used: no config, no intact checkpoint, or a mismatch.
WorkdirError = run_dir.RunDirError


class Network:
  """A restored network's heads, applied to batches of windows."""

  def __init__(self, model: fusion.FusionNetwork, params,
               acoustic_statistics: dict[str, np.ndarray] | None = None,
               speaker_statistics: tuple[np.ndarray, np.ndarray] | None = None):
    self.model = model
    self._params = params
    self._acoustic_statistics = acoustic_statistics
    # A speaker's MFCC mean and std ([n_mfcc, 1] each) for a run trained on MFCCs
    # standardised per actor; None for the others.
    self.speaker_statistics = speaker_statistics
    self._apply = jax.jit(functools.partial(_head_probabilities, model=model))

  def window_probabilities(self, audio: np.ndarray | None, images: np.ndarray | None,
                           acoustic: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """{head: [windows, classes]}: each window's probabilities, averaged over its image pairs,
    for every head the given inputs allow.

    Args:
      audio: [windows, n_mfcc, num_frames] float32 or None (standardised here by
        `speaker_statistics` if set).
      images: [windows, pairs, face_size, 2 * face_size, 3] uint8 or None.
      acoustic: [windows, F] float32 functionals, not standardised (standardised here
        by the run's training statistics), or None.
    """
    if audio is not None and self.speaker_statistics is not None:
      audio = pipeline.standardise_by(audio, *self.speaker_statistics)
    if acoustic is not None and "acoustic" in self.model.modalities:
      acoustic = acoustic_lib.standardise(acoustic, self._acoustic_statistics)
    else:
      acoustic = None
    given = {"audio": audio, "image": images, "acoustic": acoustic}
    if all(given.get(modality) is None for modality in self.model.modalities):
      return {}  # No head can run, e.g. an acoustic network on a streamed track.
    if images is not None:
      count, pairs = images.shape[:2]
      images = images.reshape(count * pairs, *images.shape[2:])
      # The study pairs each face image with one audio clip: each image pair
      # of a window reads that window's audio.
      audio = None if audio is None else np.repeat(audio, pairs, axis=0)
      acoustic = None if acoustic is None else np.repeat(acoustic, pairs, axis=0)
    else:
      count, pairs = len(audio if audio is not None else acoustic), 1
    outputs = self._apply(self._params, _pad_to_power_of_two(audio), _pad_to_power_of_two(images),
                          _pad_to_power_of_two(acoustic))
    return {head: np.asarray(values)[:count * pairs].reshape(count, pairs, -1).mean(axis=1)
            for head, values in outputs.items()}


def restore(workdir: str, step: int | None = None, enrolled: bool = False
            ) -> tuple[fusion.FusionNetwork, dict, features_lib.FeatureConfig]:
  """The network of `<workdir>/config.json`, its parameters and its preprocessing.

  Args:
    workdir: a run directory of `python -m emojax.main`.
    step: the epoch whose checkpoint to use (default: the one selected on validation).
    enrolled: whether the caller gives the speaker's enrolment clips.
  Raises:
    WorkdirError: naming the directory, if it has no config or checkpoint, the
      checkpoint is damaged (naming the intact epochs) or not finite, the
      checkpoint's parameters do not fit the config's network, the
      network reads only action units (which cannot be made from media), or
      it was trained on audio standardised per actor and is not `enrolled` (one
      clip has no speaker's statistics), or is `enrolled` but was not.
  """
  config = run_dir.require_config(workdir)
  try:
    model = fusion.build_model(config.model)
    features = features_lib.FeatureConfig(
        audio=audio_lib.AudioConfig(**config.data.audio.to_dict()),
        video=video_lib.VideoConfig(**config.data.video.to_dict()),
        acoustic=config.data.get("acoustic", ""))  # Absent from runs made before it.
    acoustic_lib.check_feature_set(features.acoustic)
  except (ValueError, TypeError, AttributeError) as error:
    raise WorkdirError(f"{workdir}/{run_dir.CONFIG_FILE} does not describe a network emojax can "
                       f"build: {error}") from error
  if not {"audio", "acoustic", "image"} & set(model.modalities):
    raise WorkdirError(
        f"The network of {workdir} reads {model.modalities} only; facial action units "
        "cannot be extracted from media here (they come from OpenFace), so it cannot "
        "predict on files.")
  # Only what the network reads counts: a config may name modalities it has not.
  per_speaker = set(config.data.get("standardise_per_actor", ())) & set(model.modalities)
  if "acoustic" in per_speaker:
    raise WorkdirError(
        f"The network of {workdir} was trained on acoustic functionals standardised by "
        "each actor's own clips; Predictor standardises only MFCCs by a speaker's "
        "enrolment clips, so it cannot predict with this run.")
  if per_speaker and not enrolled:
    raise WorkdirError(
        f"The network of {workdir} was trained on MFCCs standardised by each actor's own "
        "clips (config.data.standardise_per_actor); a clip on its own has no speaker "
        "statistics to standardise it by: give a few clips of the same speaker (--enrol).")
  if enrolled and not per_speaker:
    raise WorkdirError(
        f"The network of {workdir} was trained on MFCCs of each clip on its own; speaker "
        "enrolment (--enrol) applies only to runs standardised per actor "
        "(config.data.standardise_per_actor).")
  params = _restore_params(workdir, config, step)
  _check_params(workdir, params, model, features)
  return model, params, features


def restore_acoustic_statistics(workdir: str, model: fusion.FusionNetwork,
                                features: features_lib.FeatureConfig) -> dict[str, np.ndarray]:
  """The training split's statistics of the run's acoustic functionals ({} if it reads none).

  Raises:
    WorkdirError: naming the file, if it is missing or not of the feature set's size.
  """
  if "acoustic" not in model.modalities:
    return {}
  try:
    statistics = acoustic_lib.load_statistics(workdir)
  except (FileNotFoundError, ValueError) as error:
    raise WorkdirError(str(error)) from error
  size = acoustic_lib.num_features(features.acoustic, features.audio)
  if any(value.shape != (size,) for value in statistics.values()):
    raise WorkdirError(f"{workdir}/{acoustic_lib.STATISTICS_FILE} does not hold {size} "
                       f"statistics of {features.acoustic} functionals.")
  return statistics


def _head_probabilities(params, audio, image, acoustic, *,
                        model: fusion.FusionNetwork) -> dict:
  """{head: [batch, classes] softmax} for every head the given inputs (None: absent) allow."""
  logits = model.apply({"params": params}, audio=audio, image=image, acoustic=acoustic)["logits"]
  return {head: jax.nn.softmax(values, axis=-1) for head, values in logits.items()}


def _pad_to_power_of_two(batch: np.ndarray | None) -> np.ndarray | None:
  """Zero-pads the batch axis to a power of two: jit then compiles once per size
  class rather than once per window count."""
  if batch is None:
    return None
  size = 1 << (len(batch) - 1).bit_length()
  return np.concatenate([batch, np.zeros((size - len(batch), *batch.shape[1:]), batch.dtype)])


def _restore_params(workdir: str, config: ml_collections.ConfigDict, step: int | None):
  """The parameters saved at `step` (default: the epoch selected on validation)."""
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise WorkdirError(f"No checkpoints in {workdir!r}: the run has not finished an epoch; "
                       "train first.")
  manager = run_dir.checkpoint_manager(workdir, config)
  saved = manager.all_steps()
  if step is None:
    step = manager.best_step() or manager.latest_step()
  if step is None or step not in saved:
    raise WorkdirError(f"No checkpoint{'' if step is None else f' of epoch {step}'} in "
                       f"{manager.directory}; there are {list(saved)}.")
  try:
    params = checkpoints.restore(manager, step)["params"]
  except checkpoints.DamagedCheckpointError as error:
    raise WorkdirError(str(error)) from error
  if not np.isfinite(float(optax.global_norm(params))):
    raise WorkdirError(f"The parameters of epoch {step} in {manager.directory} are not "
                       "finite: the run diverged; it cannot predict.")
  return params


def _check_params(workdir: str, params, model: fusion.FusionNetwork,
                  features: features_lib.FeatureConfig) -> None:
  """Fails naming the first differences if `params` are not those of `model` on `features`."""
  inputs = {"audio": np.zeros((1, features.audio.n_mfcc, features.audio.num_frames), np.float32),
            "image": np.zeros((1, features.video.face_size, 2 * features.video.face_size, 3),
                              np.uint8),
            "au": np.zeros((1, action_units.NUM_ACTION_UNITS), np.float32)}
  if features.acoustic:
    inputs["acoustic"] = np.zeros(
        (1, acoustic_lib.num_features(features.acoustic, features.audio)), np.float32)
  expected = jax.eval_shape(lambda: model.init(
      jax.random.key(0), **{m: inputs[m] for m in model.modalities}))
  shapes = {jax.tree_util.keystr(path): tuple(leaf.shape)
            for path, leaf in jax.tree_util.tree_leaves_with_path(expected["params"])}
  found = {jax.tree_util.keystr(path): tuple(leaf.shape)
           for path, leaf in jax.tree_util.tree_leaves_with_path(params)}
  differences = [f"{key}: config {shapes.get(key)}, checkpoint {found.get(key)}"
                 for key in sorted(shapes.keys() | found.keys())
                 if shapes.get(key) != found.get(key)]
  if differences:
    raise WorkdirError(
        f"The checkpoint in {workdir} does not match the network of its {run_dir.CONFIG_FILE} "
        f"({len(differences)} parameters differ, e.g. {'; '.join(differences[:3])}); was "
        "the config edited, or the checkpoints copied from another run?")
