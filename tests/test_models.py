import chex
import jax
import jax.numpy as jnp

from configs import probe
from configs import probe_reference
from emojax.models import fusion


def _init(model_config, batch=2):
  model = fusion.build_model(model_config)
  audio = jnp.zeros((batch, 40, 128), jnp.float32)
  image = jnp.zeros((batch, 64, 128, 3), jnp.uint8)
  variables = model.init(jax.random.key(0), audio, image)
  return model, variables, model.apply(variables, audio, image)


def test_probe_network_gives_logits_for_every_head():
  _, _, outputs = _init(probe.get_config().model, batch=3)
  assert set(outputs["logits"]) == set(fusion.HEADS)
  for logits in outputs["logits"].values():
    chex.assert_shape(logits, (3, 8))
    chex.assert_tree_all_finite(logits)
  chex.assert_shape([outputs["embeddings"]["audio"], outputs["embeddings"]["image"]], (3, 256))


def test_probe_network_matches_pytorch_peer_parameter_count():
  # ../shared/bench/torch_probe.py prints 54,797,784 for the same shapes.
  model = fusion.build_model(probe_reference.get_config().model)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 40, 128)),
                          jnp.zeros((1, 64, 128, 3), jnp.uint8))
  assert sum(leaf.size for leaf in jax.tree.leaves(shapes)) == 54_797_784


def test_image_probe_ignores_audio():
  model, variables, outputs = _init(probe.get_config().model)
  other_audio = jnp.ones((2, 40, 128), jnp.float32)
  changed = model.apply(variables, other_audio, jnp.zeros((2, 64, 128, 3), jnp.uint8))
  chex.assert_trees_all_close(changed["logits"]["image_probe"], outputs["logits"]["image_probe"])
  assert not jnp.allclose(changed["logits"]["audio_probe"], outputs["logits"]["audio_probe"])
