import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from emojax import losses
from emojax.models import fusion
from tests.test_models import load_config

HEADS = ("joint", "audio_probe", "image_probe")
MODALITIES = ("audio", "image")


def _loss_config(**terms):
  return ml_collections.ConfigDict({"terms": terms, "label_smoothing": 0.0})


def test_cross_entropy_matches_hand_computation():
  logits = jnp.array([[0.0, np.log(3.0)]])  # p(class 1) = 3/4
  np.testing.assert_allclose(losses.cross_entropy(logits, jnp.array([1])), -np.log(0.75),
                             rtol=1e-6)


def test_cross_entropy_mask_excludes_padding():
  logits = jnp.array([[0.0, 0.0], [10.0, -10.0]])
  np.testing.assert_allclose(
      losses.cross_entropy(logits, jnp.array([0, 1]), jnp.array([1.0, 0.0])), np.log(2.0),
      rtol=1e-6)


def test_label_smoothing_mixes_in_the_uniform_distribution():
  logits = jnp.array([[0.0, np.log(3.0)]])
  expected = -(0.9 + 0.05) * np.log(0.75) - 0.05 * np.log(0.25)
  np.testing.assert_allclose(losses.cross_entropy(logits, jnp.array([1]), label_smoothing=0.1),
                             expected, rtol=1e-6)


def test_similarity_terms_on_hand_checked_embeddings():
  a, b = jnp.array([[3.0, 4.0]]), jnp.array([[4.0, 3.0]])
  np.testing.assert_allclose(losses.embedding_l2(a, b), [2.0])
  np.testing.assert_allclose(losses.embedding_cosine(a, b), [1.0 - 24.0 / 25.0], rtol=1e-6)
  np.testing.assert_allclose(losses.embedding_cosine(a, 2 * a), [0.0], atol=1e-6)


def test_classifier_l2_is_half_the_squared_norm_of_the_shared_classifier():
  params = {"shared_classifier": {"w": jnp.array([1.0, 2.0])}, "audio_encoder": {"w": jnp.ones(9)}}
  np.testing.assert_allclose(losses.classifier_l2(params), 2.5)


def test_composite_loss_is_weighted_sum_of_terms():
  outputs = {"logits": {"joint": jnp.array([[0.0, 0.0]]),
                        "audio_probe": jnp.array([[0.0, np.log(3.0)]]),
                        "image_probe": jnp.array([[5.0, 0.0]])}}
  loss_fn = losses.composite_loss(_loss_config(joint_ce=1.0, audio_probe_ce=2.0), HEADS,
                                  MODALITIES)
  total, terms = loss_fn(outputs, {"label": jnp.array([1])}, {})
  assert set(terms) == {"joint_ce", "audio_probe_ce"}
  np.testing.assert_allclose(terms["joint_ce"], np.log(2.0), rtol=1e-6)
  np.testing.assert_allclose(total, np.log(2.0) - 2.0 * np.log(0.75), rtol=1e-6)


@pytest.mark.parametrize("term", ["joint", "text_probe_ce", "embedding_dot"])
def test_composite_loss_rejects_unknown_term(term):
  with pytest.raises(ValueError, match=f"config.loss.terms.{term}"):
    losses.composite_loss(_loss_config(**{term: 1.0}), HEADS, MODALITIES)


def test_similarity_needs_two_modalities():
  with pytest.raises(ValueError, match="embedding_cosine"):
    losses.composite_loss(_loss_config(embedding_cosine=1.0), ("joint",), ("audio",))


def _real_batch(clips, size=4):
  """`size` actor-05 clips of the bundled sample, one of each of the first emotions."""
  rows = [int(np.flatnonzero((clips["label"] == label) & clips["has_video"])[0])
          for label in range(size)]
  return {"audio": jnp.asarray(clips["mfcc"][rows]), "image": jnp.asarray(clips["images"][rows, 0]),
          "au": jnp.asarray(clips["au"][rows]), "label": jnp.asarray(clips["label"][rows])}


def _network_terms(network, clips):
  """Every loss term of a config's network on real examples, as a function of the params."""
  config = load_config(network)
  config.model.update(audio_widths=(4, 8), image_widths=(4, 8), embed_dim=16, joint_hidden=(16,),
                      shared_hidden=(16,), probe_hidden=(16,))
  model = fusion.build_model(config.model)
  batch = _real_batch(clips)
  params = model.init(jax.random.key(0), **{m: batch[m] for m in model.modalities})["params"]
  loss_fn = losses.composite_loss(config.loss, model.heads, model.modalities)

  def term(params, name):
    outputs = model.apply({"params": params}, **{m: batch[m] for m in model.modalities})
    return loss_fn(outputs, batch, params)[1][name]

  return config, params, term


@pytest.mark.parametrize("network", ["probe", "similarity", "joint_loss"])
def test_every_term_of_a_network_is_non_negative(network, sample_clips):
  config, params, term = _network_terms(network, sample_clips)
  for name in config.loss.terms:
    assert term(params, name) >= 0.0, name


def _modules_with_gradient(grads):
  return {name for name, tree in grads.items()
          if any(jnp.any(leaf != 0) for leaf in jax.tree.leaves(tree))}


def test_image_probe_ce_reaches_only_the_image_branch(sample_clips):
  _, params, term = _network_terms("probe", sample_clips)
  grads = jax.grad(term)(params, "image_probe_ce")
  assert _modules_with_gradient(grads) == {"image_encoder", "image_equaliser", "image_probe"}


def test_joint_ce_reaches_both_encoders_but_no_probe(sample_clips):
  _, params, term = _network_terms("probe", sample_clips)
  grads = jax.grad(term)(params, "joint_ce")
  assert _modules_with_gradient(grads) == {"audio_encoder", "audio_equaliser", "image_encoder",
                                           "image_equaliser", "joint_classifier"}


def test_classifier_l2_reaches_only_the_shared_classifier(sample_clips):
  _, params, term = _network_terms("similarity", sample_clips)
  assert _modules_with_gradient(jax.grad(term)(params, "classifier_l2")) == {"shared_classifier"}


def test_similarity_reaches_both_embeddings_not_the_classifier(sample_clips):
  _, params, term = _network_terms("similarity", sample_clips)
  assert _modules_with_gradient(jax.grad(term)(params, "embedding_cosine")) == {
      "audio_encoder", "audio_equaliser", "image_encoder", "image_equaliser"}


def test_joint_loss_weights_the_image_term_by_beta(sample_clips):
  config = load_config("joint_loss")
  config.loss.terms.image_ce = 0.25
  model = fusion.build_model(config.model)
  batch = _real_batch(sample_clips)
  params = model.init(jax.random.key(0), batch["audio"], batch["image"])["params"]
  outputs = model.apply({"params": params}, batch["audio"], batch["image"])
  total, terms = losses.composite_loss(config.loss, model.heads, model.modalities)(
      outputs, batch, params)
  np.testing.assert_allclose(total, terms["audio_ce"] + 0.25 * terms["image_ce"], rtol=1e-6)
