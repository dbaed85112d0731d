r"""Baseline: the audio CNN alone (40 MFCCs x 128 frames), a 3-layer MLP, CE.

  python -m emojax.main --config=configs/audio.py --workdir=/tmp/emojax_audio
"""
import ml_collections

from configs import common


def get_config() -> ml_collections.ConfigDict:
  config = common.get_base_config()
  config.model.visual = ""
  config.loss.terms.joint_ce = 1.0
  return config
