"""Frozen single-modality teachers for distillation, restored from their run directories.

A teacher is a run of configs/audio.py, configs/image.py or configs/au.py; its
workdir holds config.json and Orbax checkpoints, of which the one selected on
validation is used.
"""
import jax
import ml_collections

from emojax import checkpoints
from emojax import run_dir
from emojax.models import fusion

Teachers = dict[str, tuple[fusion.FusionNetwork, dict]]  # modality -> (model, params)


def _split_without_share(data_config: ml_collections.ConfigDict) -> dict:
  # A teacher trained on fewer of the fold's training actors is still safe.
  return {k: v for k, v in data_config.split.to_dict().items() if k != "train_fraction"}


def load_teacher(workdir: str, modality: str,
                 data_config: ml_collections.ConfigDict) -> tuple[fusion.FusionNetwork, dict]:
  """The model and selected parameters of the run in `workdir`, which must read
  `modality` alone from features made as `data_config` makes them, split as it
  splits them (so that it never trained on this run's validation or test data)."""
  try:
    saved = run_dir.require_config(workdir)
  except run_dir.RunDirError as error:
    raise run_dir.RunDirError(f"Teacher config.distill.teachers.{modality}: {error}") from None
  model = fusion.build_model(saved.model)
  if model.modalities != (modality,):
    raise ValueError(f"The teacher in {workdir} reads {model.modalities}, not ({modality!r},): "
                     f"config.distill.teachers.{modality} must be a single-modality run.")
  for features in ("audio", "video"):
    if saved.data[features].to_dict() != data_config[features].to_dict():
      raise ValueError(f"The teacher in {workdir} was trained on other {features} features "
                       f"({saved.data[features]}) than this run's.")
  if _split_without_share(saved.data) != _split_without_share(data_config):
    raise ValueError(
        f"The teacher in {workdir} was trained on another split (config.data.split "
        f"{_split_without_share(saved.data)}, this run's {_split_without_share(data_config)}): "
        "its training data may hold this run's validation or test actors. Train the teacher "
        "on the same split protocol, folds file and fold.")
  manager = run_dir.checkpoint_manager(workdir, saved)
  step = manager.best_step()
  if step is None:
    raise FileNotFoundError(f"No checkpoint in teacher workdir {workdir!r}.")
  state = checkpoints.restore(manager, step)
  return model, jax.device_get(state["params"])  # On the host; the run places them.


def load_teachers(config: ml_collections.ConfigDict) -> Teachers:
  """Teachers named in config.distill.teachers ({modality: workdir}); none without it."""
  if "distill" not in config:
    return {}
  return {modality: load_teacher(workdir, modality, config.data)
          for modality, workdir in config.distill.teachers.items()}
