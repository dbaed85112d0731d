r"""The honest protocol's row for the audio CNN on 40 log-mel bands instead of 40 MFCCs.

  python -m emojax.main --config=configs/actor_folds/audio_log_mel.py \
    --config.data.split.fold=0 --workdir=/tmp/emojax_audio_log_mel_fold0

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import audio
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  config = common.honest(audio.get_config(), setting)
  config.data.audio.features = "log_mel"
  return config
