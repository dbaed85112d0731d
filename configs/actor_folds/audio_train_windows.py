r"""The honest protocol's row for the audio CNN trained on random windows: each step
trains on one of a clip's 3 windows (from its start to its end) drawn at random,
and a clip is scored on all 3, its outputs averaged.

  python -m emojax.main --config=configs/actor_folds/audio_train_windows.py \
    --config.data.split.fold=0 --workdir=/tmp/emojax_audio_train_windows_fold0

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs.actor_folds import audio_test_windows


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  config = audio_test_windows.get_config(setting)
  config.data.train_on_windows = True
  return config
