r"""Baseline as the study trained it: the audio CNN alone on speech and song clips
("for audio we took both the song and speech data"), trained and tested on both.

  python -m emojax.main --config=configs/audio_speech_song.py \
    --workdir=/tmp/emojax_audio_speech_song
"""
import ml_collections

from configs import audio


def get_config() -> ml_collections.ConfigDict:
  config = audio.get_config()
  config.data.vocal_channels = ("speech", "song")
  return config
