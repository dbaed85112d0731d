r"""Baseline: the image CNN alone (two 64x64 face frames side by side), a 3-layer MLP, CE.

  python -m emojax.main --config=configs/image.py --workdir=/tmp/emojax_image
"""
import ml_collections

from configs import common


def get_config() -> ml_collections.ConfigDict:
  config = common.get_base_config("image")
  config.model.audio_encoder = ""
  config.loss.terms.joint_ce = 1.0
  return config
