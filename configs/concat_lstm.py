r"""Architecture 2: as architecture 1 with an LSTM audio encoder over the MFCC frames.

  python -m emojax.main --config=configs/concat_lstm.py --workdir=/tmp/emojax_concat_lstm
"""
import ml_collections

from configs import common


def get_config(visual: str = "image") -> ml_collections.ConfigDict:
  config = common.get_base_config(visual)
  config.model.audio_encoder = "lstm"
  config.loss.terms.joint_ce = 1.0
  return config
