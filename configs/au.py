r"""Baseline: facial action units alone (35 OpenFace values per clip), an MLP encoder,
a 3-layer MLP, CE.

  python -m emojax.main --config=configs/au.py --workdir=/tmp/emojax_au
"""
import ml_collections

from configs import common


def get_config() -> ml_collections.ConfigDict:
  config = common.get_base_config("au")
  config.model.audio_encoder = ""
  config.loss.terms.joint_ce = 1.0
  return config
