r"""The honest protocol's row for the audio CNN trained on speech and song, validated
and tested on speech: song as extra training data, scored as the audio row is.

  python -m emojax.main --config=configs/actor_folds/audio_song_trained.py \
    --config.data.split.fold=0 --workdir=/tmp/emojax_audio_song_trained_fold0

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import audio_speech_song
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  config = common.honest(audio_speech_song.get_config(), setting)
  config.data.eval_vocal_channels = ("speech",)
  return config
