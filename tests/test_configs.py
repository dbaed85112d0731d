"""Every config builds and takes a data-parallel train step on the bundled sample."""
import importlib
import os

import numpy as np
import pytest

from configs.actor_folds import common as honest
from emojax import train
from tests.test_models import NETWORKS, load_config


# The default suite covers each module path once (LSTM, shared classifier with
# action units, image baseline; the probe network in test_train); `-m slow` runs all.
FAST = ("concat_lstm", "similarity:au", "image")


@pytest.mark.parametrize("network", [
    n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in NETWORKS])
def test_every_config_trains_and_evaluates_on_two_devices(network, sample_tfds_dir):
  config = load_config(network)
  config.data.tfds_dir = sample_tfds_dir
  config.model.update(audio_widths=(4, 8), image_widths=(4, 8), lstm_size=8, au_widths=(8,))
  if config.model.embed_dim:
    config.model.embed_dim = 16
  run = train.build_run(config)
  state = run.init_state()
  batch = next(run.train_batches(epoch=1))
  state, step_metrics = run.train_step(state, run.shard(batch))
  assert np.isfinite(float(step_metrics["loss"]))
  assert set(config.loss.terms) <= set(step_metrics)
  results, confusion = train.evaluate_split(run, state["params"], "val")
  assert set(confusion) == set(run.model.heads)
  assert 0.0 <= results["val/joint_accuracy"] <= 1.0


ROWS = sorted(name.removesuffix(".py") for name in os.listdir("configs/actor_folds")
              if name.endswith(".py") and name not in ("__init__.py", "common.py"))


@pytest.mark.parametrize("row", ROWS)
def test_every_honest_row_splits_by_actor_pairs_by_clip_and_labels_standardisation(row):
  module = importlib.import_module(f"configs.actor_folds.{row}")
  for setting in honest.SETTINGS:
    config = module.get_config(setting)
    assert (config.data.split.protocol, config.data.pairing) == ("actor_folds", "clip")
    standardised = setting in honest.TRANSDUCTIVE or setting in honest.ENROLMENT
    assert bool(config.data.standardise_per_actor) == standardised
    assert config.data.enrol_clips == honest.ENROLMENT.get(setting, 0)
  with pytest.raises(ValueError, match="'tuned': expected one of"):
    module.get_config("tuned")
