r"""The honest protocol's row for the audio CNN scored on 3 windows per clip, from its
start to its end, its outputs averaged (test-time averaging; trained as `audio.py`).

  python -m emojax.main --config=configs/actor_folds/audio_test_windows.py \
    --config.data.split.fold=0 --workdir=/tmp/emojax_audio_test_windows_fold0

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import audio
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  config = common.honest(audio.get_config(), setting)
  config.data.audio.test_windows = 3
  return config
