r"""The honest protocol's row for logistic regression on the MFCCs' time mean and std (80).

  python -m emojax.main --config=configs/actor_folds/linear_mfcc.py --config.data.split.fold=0 \
    --workdir=/tmp/emojax_linear_mfcc_fold0
  python -m emojax.main --config=configs/actor_folds/linear_mfcc.py:adam ...  # another setting

Settings: configs/actor_folds/common.py. A row of experiments/exp4_actor_folds.py.
"""
import ml_collections

from configs import linear
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  return common.honest(linear.get_config("mfcc"), setting)
