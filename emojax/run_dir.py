"""A run directory, read, locked and checked in one place.

`<workdir>/config.json` is the truth of how a run's checkpoints were trained:
resume, eval, distillation teachers and Predictor read it here, and a later
command may change only its run-time keys. `<workdir>/run.lock` keeps a second
training off the directory. Checkpoints are emojax.checkpoints', the per-epoch
log emojax.metrics'.
"""
import contextlib
import json
import os
from typing import Any, Iterator, Mapping

import ml_collections
from absl import logging

from emojax import checkpoints
from emojax import locks

CONFIG_FILE = "config.json"
LOCK_FILE = "run.lock"
# How long, where or how fast a run goes, not what it learns or is scored on:
# a resume or an eval may change these.
RUN_TIME_KEYS = frozenset({
    "train.num_epochs", "train.num_steps", "train.early_stopping_patience",
    "train.log_test_metrics", "train.keep_checkpoints", "train.eval_batch_size",
    "data.tfds_dir", "data.num_workers",
    "model.conv_impl",  # Saved by runs from before it became a run-time switch.
})
# Keys added since runs were first saved, with the value that gives the behaviour
# of a run saved before them.
ADDED_KEYS = {"data.acoustic": "", "data.enrol_clips": 0, "model.acoustic_encoder": "",
              "model.acoustic_widths": (64, 64), "augment.mixup": 0.0,
              "data.eval_vocal_channels": (), "data.audio.features": "mfcc",
              "data.audio.test_windows": 1, "data.train_on_windows": False}
# Keys since removed, dropped from a saved config on reading. Features version
# 1.2.0 replaced the face margin by `data.video.face_region`: a run saved before
# it predicts with the new face images (the records' release notes say so).
REMOVED_KEYS = ("data.video.face_margin",)
# Sections that only a network with that input reads: a run without it
# learns the same whatever they hold.
_SECTIONS_BY_INPUT = {"data.video.": ("model.visual", "image")}


class RunDirError(ValueError):
  """A run directory that does not fit the request; the message names it."""


def _tuples(value: Any) -> Any:
  """JSON's lists back to the configs' tuples (feature caches are keyed on the values)."""
  if isinstance(value, dict):
    return {key: _tuples(item) for key, item in value.items()}
  if isinstance(value, list):
    return tuple(_tuples(item) for item in value)
  return value


def _with_added_keys(saved: dict) -> dict:
  """A saved config (JSON) with the keys added since, at their old behaviour's values,
  and without those removed since."""
  for key in REMOVED_KEYS:
    *sections, name = key.split(".")
    node = saved
    for section in sections:
      node = node.get(section, {})
    node.pop(name, None)
  for key, value in ADDED_KEYS.items():
    *sections, name = key.split(".")
    node = saved
    for section in sections:
      node = node.setdefault(section, {})
    node.setdefault(name, list(value) if isinstance(value, tuple) else value)
  return saved


def _as_json(config: ml_collections.ConfigDict | Mapping) -> dict:
  if isinstance(config, ml_collections.ConfigDict):
    return json.loads(config.to_json_best_effort())
  return json.loads(json.dumps(config))


def flatten(tree: Mapping, prefix: str = "") -> dict[str, Any]:
  """{"data.split.fold": 0, ...} of a nested mapping."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, Mapping) and value:
      flat.update(flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def changed_keys(saved: ml_collections.ConfigDict | Mapping,
                 config: ml_collections.ConfigDict | Mapping,
                 ignore: frozenset[str] = RUN_TIME_KEYS) -> list[str]:
  """Keys, other than `ignore`d ones and those of an input neither side reads, whose
  values differ (or that only one side has)."""
  before, after = flatten(_with_added_keys(_as_json(saved))), flatten(_as_json(config))
  unread = tuple(section for section, (key, value) in _SECTIONS_BY_INPUT.items()
                 if before.get(key) != value and after.get(key) != value)
  return sorted(key for key in before.keys() | after.keys()
                if key not in ignore and not key.startswith(unread)
                and before.get(key, "<absent>") != after.get(key, "<absent>"))


def _describe(keys: list[str], saved: Mapping, config: Mapping) -> str:
  before, after = flatten(_as_json(saved)), flatten(_as_json(config))
  return "; ".join(f"config.{key}: the run has {before.get(key, '<absent>')!r}, "
                   f"this command {after.get(key, '<absent>')!r}" for key in keys)


def read_config(workdir: str) -> ml_collections.ConfigDict | None:
  """The run's saved config, or None if the directory has none yet."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    return None
  try:
    with open(path) as f:
      return ml_collections.ConfigDict(_tuples(_with_added_keys(json.load(f))))
  except ValueError as error:
    raise RunDirError(f"{path} is not valid JSON: {error}") from error


def require_config(workdir: str) -> ml_collections.ConfigDict:
  config = read_config(workdir)
  if config is None:
    raise RunDirError(f"No {CONFIG_FILE} in {workdir!r}: expected the run directory "
                      "(--workdir) of a training run of python -m emojax.main.")
  return config


def write_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  with open(os.path.join(workdir, CONFIG_FILE), "w") as f:
    f.write(config.to_json_best_effort(indent=2))


def check_same_run(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Fails, naming the keys, if `config` would train or score another run than the one
  saved in `workdir` (run-time keys aside)."""
  saved = read_config(workdir)
  keys = [] if saved is None else changed_keys(saved, config)
  if keys:
    raise RunDirError(f"{workdir} holds a run of another config ({_describe(keys, saved, config)}); "
                      "use another --workdir, or repeat the run's own settings.")


def resolve_config(workdir: str, given: ml_collections.ConfigDict | None,
                   overrides: Mapping[str, Any]) -> ml_collections.ConfigDict:
  """The config of a command on `workdir`: the saved one where there is one.

  Args:
    given: the command line's config (--config with its overrides), if any.
    overrides: the keys the command line overrode, flat ("train.num_epochs").
  Raises:
    RunDirError: if there is neither a saved nor a given config, or an override
      would change a key other than RUN_TIME_KEYS, naming the keys.
  """
  saved = read_config(workdir)
  if saved is None:
    if given is None:
      raise RunDirError(f"No {CONFIG_FILE} in {workdir!r}; pass --config to start a run there.")
    return given
  flat_saved = flatten(_as_json(saved))
  refused = sorted(key for key, value in overrides.items() if key not in RUN_TIME_KEYS
                   and _as_json({"v": value})["v"] != flat_saved.get(key, "<absent>"))
  if refused:
    raise RunDirError(
        f"{workdir}/{CONFIG_FILE} says how this run was trained, and these overrides would "
        f"change what it learns or is scored on: {_describe(refused, saved, given)}. Only "
        f"run-time keys may change ({', '.join(sorted(RUN_TIME_KEYS))}); use another "
        "--workdir for another run.")
  if given is not None:
    ignored = [key for key in changed_keys(saved, given) if key not in overrides]
    if ignored:
      logging.warning("Using %s/%s; the command line's config file differs in %s.",
                      workdir, CONFIG_FILE, ", ".join(ignored))
  config = ml_collections.ConfigDict(saved.to_dict())
  config.update_from_flattened_dict({key: value for key, value in overrides.items()
                                     if key in RUN_TIME_KEYS and key in flat_saved})
  return config


@contextlib.contextmanager
def lock(workdir: str) -> Iterator[None]:
  """One training at a time in `workdir`; a second one stops at once, naming the first."""
  with locks.hold(os.path.join(workdir, LOCK_FILE), f"The run directory {workdir}"):
    yield


def checkpoint_manager(workdir: str, config: ml_collections.ConfigDict):
  return checkpoints.manager(workdir, config.train.select_metric, config.train.keep_checkpoints)
