r"""Architecture 0 ("joint loss"): no concatenation; one shared classifier reads each
modality's equalised embedding; loss = CE(audio) + beta CE(image). The joint
prediction averages the classifier's logits over both modalities.

  python -m emojax.main --config=configs/joint_loss.py --workdir=/tmp/emojax_joint_loss
  python -m emojax.main --config=configs/joint_loss.py --workdir=/tmp/emojax_joint_loss \
    --config.loss.terms.image_ce=0.5  # beta
"""
import ml_collections

from configs import common


def get_config(visual: str = "image") -> ml_collections.ConfigDict:
  config = common.get_base_config(visual)
  config.model.fusion = "shared"
  config.model.embed_dim = 256
  config.loss.terms.audio_ce = 1.0
  config.loss.terms[f"{visual}_ce"] = 1.0  # beta
  return config
