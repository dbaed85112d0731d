"""Frozen single-modality teachers for distillation, restored from their run directories.

A teacher is a run of configs/audio.py, configs/image.py or configs/au.py; its
workdir holds config.json and Orbax checkpoints, of which the one selected on
validation is used.
"""
import json
import os

import jax
import ml_collections
import orbax.checkpoint as ocp

from emojax import checkpoints
from emojax.models import fusion

Teachers = dict[str, tuple[fusion.FusionNetwork, dict]]  # modality -> (model, params)


def load_teacher(workdir: str, modality: str,
                 data_config: ml_collections.ConfigDict) -> tuple[fusion.FusionNetwork, dict]:
  """The model and selected parameters of the run in `workdir`, which must read
  `modality` alone from features made as `data_config` makes them."""
  config_path = os.path.join(workdir, "config.json")
  if not os.path.exists(config_path):
    raise FileNotFoundError(f"No config.json in teacher workdir {workdir!r} "
                            f"(config.distill.teachers.{modality}); train the teacher first.")
  with open(config_path) as f:
    saved = ml_collections.ConfigDict(json.load(f))
  model = fusion.build_model(saved.model)
  if model.modalities != (modality,):
    raise ValueError(f"The teacher in {workdir} reads {model.modalities}, not ({modality!r},): "
                     f"config.distill.teachers.{modality} must be a single-modality run.")
  for features in ("audio", "video"):
    if saved.data[features].to_dict() != data_config[features].to_dict():
      raise ValueError(f"The teacher in {workdir} was trained on other {features} features "
                       f"({saved.data[features]}) than this run's.")
  manager = checkpoints.manager(workdir, saved.train.select_metric, saved.train.keep_checkpoints)
  step = manager.best_step()
  if step is None:
    raise FileNotFoundError(f"No checkpoint in teacher workdir {workdir!r}.")
  state = manager.restore(step, args=ocp.args.StandardRestore())
  return model, jax.device_get(state["params"])  # On the host; the run places them.


def load_teachers(config: ml_collections.ConfigDict) -> Teachers:
  """Teachers named in config.distill.teachers ({modality: workdir}); none without it."""
  if "distill" not in config:
    return {}
  return {modality: load_teacher(workdir, modality, config.data)
          for modality, workdir in config.distill.teachers.items()}
