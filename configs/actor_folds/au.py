r"""The honest protocol's row for action units alone (OpenFace 2), a 3-layer MLP.

  python -m emojax.main --config=configs/actor_folds/au.py --config.data.split.fold=0 \
    --workdir=/tmp/emojax_au_fold0
  python -m emojax.main --config=configs/actor_folds/au.py:dropout ...  # another setting

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import au
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  return common.honest(au.get_config(), setting)
