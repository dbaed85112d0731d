r"""The honest protocol's row for audio CNN alone.

  python -m emojax.main --config=configs/actor_folds/audio.py --config.data.split.fold=0 \
    --workdir=/tmp/emojax_audio_fold0
  python -m emojax.main --config=configs/actor_folds/audio.py:dropout ...  # another setting

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import audio
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  return common.honest(audio.get_config(), setting)
