r"""The honest protocol's row for an MLP on ComParE 2016 functionals (6,373 per clip) alone.

  python -m emojax.main --config=configs/actor_folds/mlp_compare.py --config.data.split.fold=0 \
    --workdir=/tmp/emojax_mlp_compare_fold0
  python -m emojax.main --config=configs/actor_folds/mlp_compare.py:enrol8 ...  # another setting

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs import common as common_configs
from configs.actor_folds import common


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  config = common_configs.get_base_config("au")
  config.model.visual = ""
  config.loss.terms.joint_ce = 1.0
  return common.honest(common.functionals_for_audio(config), setting)
