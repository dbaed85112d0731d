"""Distillation from single-modality teachers restored from real (tiny) training runs."""
import chex
import jax
import numpy as np
import pytest

from emojax import checkpoints
from emojax import losses
from emojax import run_dir
from emojax import teachers
from emojax import train
from tests.test_models import load_config

TINY = dict(audio_widths=(4, 8), image_widths=(4, 8), joint_hidden=(16,), probe_hidden=(16,))


def _tiny(network, tfds_dir):
  config = load_config(network)
  config.data.tfds_dir = tfds_dir
  config.model.update(TINY)
  config.train.num_epochs = 1
  return config


@pytest.fixture(scope="module")
def teacher_dirs(tmp_path_factory, sample_tfds_dir):
  dirs = {}
  for modality, network in (("audio", "audio"), ("image", "image")):
    dirs[modality] = str(tmp_path_factory.mktemp(f"teacher_{modality}"))
    train.train_and_evaluate(_tiny(network, sample_tfds_dir), dirs[modality])
  return dirs


@pytest.fixture()
def distill_config(teacher_dirs, sample_tfds_dir):
  config = _tiny("distill", sample_tfds_dir)
  config.model.embed_dim = 16
  config.distill.teachers.audio = teacher_dirs["audio"]
  config.distill.teachers.image = teacher_dirs["image"]
  return config


def test_teacher_parameters_are_those_of_its_selected_checkpoint(teacher_dirs, sample_tfds_dir):
  config = _tiny("audio", sample_tfds_dir)
  model, params = teachers.load_teacher(teacher_dirs["audio"], "audio", config.data)
  assert model.modalities == ("audio",)
  run = train.build_run(config)
  manager = checkpoints.manager(teacher_dirs["audio"], config.train.select_metric, 2)
  expected = checkpoints.restore(manager, manager.best_step(), run.init_state())["params"]
  chex.assert_trees_all_close(params, jax.device_get(expected))


def test_distillation_terms_train_the_probes_towards_the_teachers(distill_config):
  run = train.build_run(distill_config)
  state = run.init_state()
  batch = next(run.train_batches(epoch=1))
  _, step_metrics = run.train_step(state, run.shard(batch))
  for term in ("audio_probe_distill", "image_probe_distill"):
    assert np.isfinite(step_metrics[term]) and step_metrics[term] >= 0.0


def test_audio_distillation_reaches_only_the_audio_branch(distill_config):
  run = train.build_run(distill_config, devices=jax.devices()[:1])
  batch = {k: jax.numpy.asarray(v) for k, v in next(run.train_batches(epoch=1)).items()}
  params = jax.device_get(run.init_state()["params"])
  loaded = teachers.load_teachers(distill_config)
  teacher_models = {m: model for m, (model, _) in loaded.items()}
  teacher_params = {m: params for m, (_, params) in loaded.items()}
  loss_fn = losses.composite_loss(distill_config.loss, run.model.heads, run.model.modalities,
                                  ("audio", "image"), distill_config.distill.temperature)

  def audio_term(params):
    outputs = train.forward(params, teacher_params, batch, model=run.model,
                            teacher_models=teacher_models)
    return loss_fn(outputs, batch, params)[1]["audio_probe_distill"]

  grads = jax.grad(audio_term)(params)
  reached = {name for name, tree in grads.items()
             if any(np.any(np.asarray(leaf) != 0) for leaf in jax.tree.leaves(tree))}
  assert reached == {"audio_encoder", "audio_equaliser", "audio_probe"}


def test_a_teacher_of_the_wrong_modality_is_rejected(distill_config, teacher_dirs):
  distill_config.distill.teachers.audio = teacher_dirs["image"]
  with pytest.raises(ValueError, match="single-modality run"):
    train.build_run(distill_config)


def test_a_missing_teacher_names_its_key(distill_config, tmp_path):
  distill_config.distill.teachers.image = str(tmp_path / "untrained")
  with pytest.raises(run_dir.RunDirError, match="config.distill.teachers.image"):
    train.build_run(distill_config)


def test_a_teacher_trained_on_another_split_is_refused(distill_config, teacher_dirs, tmp_path):
  other_fold = distill_config.copy_and_resolve_references()
  other_fold.data.split.update(protocol="actor_folds", fold=1)
  other_fold.data.pairing = "clip"
  with pytest.raises(ValueError, match="another split.*'fold': 0.*'fold': 1"):
    train.build_run(other_fold)
