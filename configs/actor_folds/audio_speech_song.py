r"""The honest protocol's row for the audio CNN trained and tested on speech and song.

  python -m emojax.main --config=configs/actor_folds/audio_speech_song.py \
    --config.data.split.fold=0 --workdir=/tmp/emojax_audio_speech_song_fold0

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import audio_speech_song
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  return common.honest(audio_speech_song.get_config(), setting)
