r"""The honest protocol's row for an MLP on ComParE 2016 functionals trained on the
training actors' speech and song, validated and tested on speech: song as extra
training data, scored as the speech rows are.

  python -m emojax.main --config=configs/actor_folds/mlp_compare_song_trained.py \
    --config.data.split.fold=0 --workdir=/tmp/emojax_mlp_compare_song_trained_fold0

Settings: configs/actor_folds/common.py. experiments/exp4_actor_folds.py runs every fold.
"""
import ml_collections

from configs.actor_folds import mlp_compare


def get_config(setting: str = "study") -> ml_collections.ConfigDict:
  config = mlp_compare.get_config(setting)
  config.data.vocal_channels = ("speech", "song")
  config.data.eval_vocal_channels = ("speech",)
  return config
