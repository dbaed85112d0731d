r"""Architecture 1: audio CNN and image CNN, their flattened outputs concatenated,
a 3-layer MLP, CE.

  python -m emojax.main --config=configs/concat.py --workdir=/tmp/emojax_concat
  python -m emojax.main --config=configs/concat.py:au --workdir=/tmp/emojax_concat_au
"""
import ml_collections

from configs import common


def get_config(visual: str = "image") -> ml_collections.ConfigDict:
  config = common.get_base_config(visual)
  config.loss.terms.joint_ce = 1.0
  return config
