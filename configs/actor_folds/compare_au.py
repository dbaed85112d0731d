r"""The honest protocol's row for architecture 3 (concatenation of equalised embeddings) with an MLP on
ComParE 2016 functionals in place of the MFCC CNN, and action units.

  python -m emojax.main --config=configs/actor_folds/compare_au.py --config.data.split.fold=0 \
    --workdir=/tmp/emojax_compare_au_fold0
  python -m emojax.main --config=configs/actor_folds/compare_au.py:enrol8 ...  # another setting

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import concat_equalized
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  return common.honest(common.functionals_for_audio(concat_equalized.get_config("au")), setting)
