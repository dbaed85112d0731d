r"""The honest protocol's row for architecture 3 (concatenation of equalised embeddings) with action units.

  python -m emojax.main --config=configs/actor_folds/concat_equalized_au.py --config.data.split.fold=0 \
    --workdir=/tmp/emojax_concat_equalized_au_fold0
  python -m emojax.main --config=configs/actor_folds/concat_equalized_au.py:dropout ...  # another setting

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import concat_equalized
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  return common.honest(concat_equalized.get_config("au"), setting)
