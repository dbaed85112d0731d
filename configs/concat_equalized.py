r"""Architecture 3: as architecture 1, with an MLP per modality that projects both
embeddings to the same size (256) before the concatenation.

  python -m emojax.main --config=configs/concat_equalized.py --workdir=/tmp/emojax_concat_eq
"""
import ml_collections

from configs import common


def get_config(visual: str = "image") -> ml_collections.ConfigDict:
  config = common.get_base_config(visual)
  config.model.embed_dim = 256
  config.loss.terms.joint_ce = 1.0
  return config
