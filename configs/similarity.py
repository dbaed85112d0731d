r"""The study's general loss on the shared-classifier network of architecture 0:
L = L_C(audio) + alpha L_C(image) + beta Reg(C) + gamma Similarity(phi_a, phi_i),
with Reg(C) half the squared L2 norm of the classifier and Similarity 1 - cosine
of the equalised embeddings (`embedding_l2` for the squared distance instead).

  python -m emojax.main --config=configs/similarity.py --workdir=/tmp/emojax_similarity
  python -m emojax.main --config=configs/similarity.py --workdir=/tmp/emojax_similarity \
    --config.loss.terms.embedding_cosine=0.5  # gamma
"""
import ml_collections

from configs import common


def get_config(visual: str = "image") -> ml_collections.ConfigDict:
  config = common.get_base_config(visual)
  config.model.fusion = "shared"
  config.model.embed_dim = 256
  config.loss.terms.audio_ce = 1.0
  config.loss.terms[f"{visual}_ce"] = 1.0  # alpha
  config.loss.terms.classifier_l2 = 1e-4  # beta
  config.loss.terms.embedding_cosine = 0.1  # gamma
  return config
