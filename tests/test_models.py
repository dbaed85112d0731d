import importlib

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from configs import probe_reference
from emojax.models import conv_backend
from emojax.models import encoders
from emojax.models import fusion
from emojax.models.cpu import conv
from emojax.models.cpu import fused_conv
from emojax.models.cpu import pooling
from emojax.models.cpu import winograd

# Every network config, with each visual modality it takes.
NETWORKS = ["audio", "image", "au", "concat", "concat:au", "concat_lstm", "concat_lstm:au",
            "concat_equalized", "concat_equalized:au", "probe", "probe:au", "joint_loss",
            "joint_loss:au", "similarity", "similarity:au"]
MODEL_NETWORKS = NETWORKS + ["distill", "distill:au"]
EXPECTED_HEADS = {
    "distill": {"joint", "audio_probe", "{visual}_probe"},
    "audio": {"joint"}, "image": {"joint"}, "au": {"joint"}, "concat": {"joint"},
    "concat_lstm": {"joint"}, "concat_equalized": {"joint"},
    "probe": {"joint", "audio_probe", "{visual}_probe"},
    "joint_loss": {"joint", "audio", "{visual}"}, "similarity": {"joint", "audio", "{visual}"},
}


def load_config(network: str):
  name, _, visual = network.partition(":")
  module = importlib.import_module(f"configs.{name}")
  return module.get_config(visual) if visual else module.get_config()


def inputs(batch: int = 2) -> dict:
  return {"audio": jnp.zeros((batch, 40, 128)), "image": jnp.zeros((batch, 64, 128, 3), jnp.uint8),
          "au": jnp.zeros((batch, 35))}


@pytest.mark.parametrize("network", MODEL_NETWORKS)
def test_every_network_gives_finite_logits_for_each_of_its_heads(network):
  config = load_config(network)
  model = fusion.build_model(config.model)
  batch = {m: x for m, x in inputs(3).items() if m in model.modalities}
  variables = model.init(jax.random.key(0), **batch)
  outputs = model.apply(variables, **batch)
  visual = config.model.visual
  expected = {h.format(visual=visual) for h in EXPECTED_HEADS[network.split(":")[0]]}
  assert set(outputs["logits"]) == set(model.heads) == expected
  for logits in outputs["logits"].values():
    chex.assert_shape(logits, (3, 8))
    chex.assert_tree_all_finite(logits)
  summary = fusion.summary(variables["params"])
  total = sum(leaf.size for leaf in jax.tree.leaves(variables))
  assert summary.splitlines()[-1].split() == ["total", f"{total:,d}"]
  print(f"{network}:\n{summary}")


def test_probe_network_matches_pytorch_peer_parameter_count():
  # ../shared/bench/torch_probe.py prints 54,797,784 for the same shapes.
  model = fusion.build_model(probe_reference.get_config().model)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 40, 128)),
                          jnp.zeros((1, 64, 128, 3), jnp.uint8))
  assert sum(leaf.size for leaf in jax.tree.leaves(shapes)) == 54_797_784


def test_probes_classify_with_one_modality_missing():
  model = fusion.build_model(load_config("probe").model)
  variables = model.init(jax.random.key(0), **{m: inputs()[m] for m in ("audio", "image")})
  outputs = model.apply(variables, audio=inputs()["audio"])
  assert set(outputs["logits"]) == {"audio_probe"}


def test_image_probe_ignores_audio():
  model = fusion.build_model(load_config("probe").model)
  batch = {m: inputs()[m] for m in ("audio", "image")}
  variables = model.init(jax.random.key(0), **batch)
  before = model.apply(variables, **batch)["logits"]
  after = model.apply(variables, audio=jnp.ones((2, 40, 128)), image=batch["image"])["logits"]
  chex.assert_trees_all_close(after["image_probe"], before["image_probe"])
  assert not jnp.allclose(after["audio_probe"], before["audio_probe"])


def test_shared_classifier_is_one_set_of_parameters():
  model = fusion.build_model(load_config("joint_loss").model)
  variables = model.init(jax.random.key(0), **{m: inputs()[m] for m in ("audio", "image")})
  assert "shared_classifier" in variables["params"]
  assert not any("classifier" in name for name in variables["params"] if name != "shared_classifier")


def test_width_mean_pooling_averages_the_flattened_features_over_the_width():
  x = jax.random.normal(jax.random.key(1), (2, 40, 128, 1))
  variables = encoders.ConvEncoder((16, 32)).init(jax.random.key(0), x)
  flat = encoders.ConvEncoder((16, 32)).apply(variables, x)
  pooled = encoders.ConvEncoder((16, 32), pooling="width_mean").apply(variables, x)
  # After the 2x2 max-pool: 20 rows x 64 columns x 32 channels.
  chex.assert_shape(pooled, (2, 20 * 32))
  chex.assert_trees_all_close(pooled, flat.reshape(2, 20, 64, 32).mean(2).reshape(2, -1),
                              atol=1e-6)


def _audio_network(pooling):
  """The audio network with `pooling`: (model, variables, outputs on inputs())."""
  config = load_config("audio").model
  config.audio_pooling = pooling
  model = fusion.build_model(config)
  variables = model.init(jax.random.key(0), audio=inputs()["audio"])
  return model, variables, model.apply(variables, audio=inputs()["audio"])


def test_time_mean_audio_pooling_gives_a_small_audio_embedding():
  _, variables, outputs = _audio_network("time_mean")
  chex.assert_shape(outputs["embeddings"]["audio"], (2, 20 * 32))
  chex.assert_shape(variables["params"]["joint_classifier"]["Dense_0"]["kernel"], (640, 256))


def test_attention_pooling_weighs_normalised_steps_to_sum_to_one():
  steps = jax.random.normal(jax.random.key(2), (3, 7, 10))
  pooling = encoders.AttentionPooling(hidden=8)
  variables = pooling.init(jax.random.key(0), steps)
  pooled = pooling.apply(variables, steps)
  chex.assert_shape(pooled, (3, 10))
  # Identical steps: whatever the weights, the mean of one normalised step.
  same = jnp.repeat(steps[:, :1], 7, axis=1)
  normalised = (steps[:, 0] - steps[:, 0].mean(-1, keepdims=True)) / jnp.sqrt(
      steps[:, 0].var(-1, keepdims=True) + 1e-6)
  chex.assert_trees_all_close(pooling.apply(variables, same), normalised, atol=1e-4)


def test_time_attention_audio_pooling_reads_every_frame_column():
  model, variables, outputs = _audio_network("time_attention")
  chex.assert_shape(outputs["embeddings"]["audio"], (2, 20 * 32))
  assert "attention_pooling" in variables["params"]["audio_encoder"]
  # Changing one frame changes the embedding: no frame is dropped.
  audio = inputs()["audio"].at[:, :, 5].add(3.0)
  assert not np.allclose(model.apply(variables, audio=audio)["embeddings"]["audio"],
                         outputs["embeddings"]["audio"])


@pytest.mark.parametrize("field,value,message", [
    ("fusion", "sum", "config.model.fusion"), ("visual", "video", "config.model.visual"),
    ("audio_encoder", "gru", "config.model.audio_encoder"),
    ("audio_pooling", "max", "config.model.audio_pooling")])
def test_invalid_model_choice_names_its_key(field, value, message):
  config = load_config("probe").model
  config[field] = value
  with pytest.raises(ValueError, match=message):
    fusion.build_model(config)


@pytest.mark.parametrize("saved", ["auto", "matmul", "xla"])
def test_a_saved_model_config_with_the_old_conv_impl_key_builds_the_same_network(saved):
  # Run directories saved before the kernels became a run-time choice hold it.
  config = load_config("probe").model
  legacy = ml_collections.ConfigDict({**config.to_dict(), "conv_impl": saved})
  assert fusion.build_model(legacy) == fusion.build_model(config)


# (x shape, output channels, pixels per loop step): odd sizes, 1, 3, 8 and 16
# input channels, widening and narrowing, and the loops over images in 1 to 6 steps.
CONV_CASES = [((2, 6, 10, 3), 5, 16384), ((3, 5, 7, 1), 4, 35), ((6, 9, 4, 3), 8, 72),
              ((4, 8, 8, 16), 32, 64), ((5, 6, 7, 8), 3, 42)]


def _xla_conv3x3(x, kernel):
  return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                      dimension_numbers=("NHWC", "HWIO", "NHWC"))


@pytest.mark.parametrize("matmul_min_channels", [1, 32])
@pytest.mark.parametrize("shape,features,chunk_pixels", CONV_CASES)
def test_conv3x3_equals_xla_convolution(shape, features, chunk_pixels, matmul_min_channels,
                                        monkeypatch):
  monkeypatch.setattr(conv, "_CHUNK_PIXELS", chunk_pixels)
  monkeypatch.setattr(conv, "_MATMUL_MIN_CHANNELS", matmul_min_channels)
  x = jax.random.normal(jax.random.key(0), shape)
  kernel = jax.random.normal(jax.random.key(1), (3, 3, shape[-1], features)) / 3
  outputs, grads = [], []
  for conv3x3 in (_xla_conv3x3, conv.conv3x3):
    loss = lambda x, kernel: jnp.sum(jnp.sin(conv3x3(x, kernel)))
    outputs.append(conv3x3(x, kernel))
    grads.append(jax.grad(loss, argnums=(0, 1))(x, kernel))
  chex.assert_trees_all_close(outputs[0], outputs[1], atol=1e-5)
  chex.assert_trees_all_close(grads[0], grads[1], atol=1e-4, rtol=1e-5)


def _outputs_and_grads(encoder, variables, x):
  """The encoder's output, and the gradients of a loss of it with respect to the
  variables and x, with XLA's convolutions, then with the CPU kernels."""
  outputs, grads = [], []
  for choice in ("xla", "cpu"):
    with conv_backend.using(choice):
      loss = lambda v, x: jnp.sum(jnp.sin(encoder.apply(v, x)))
      outputs.append(encoder.apply(variables, x))
      grads.append(jax.grad(loss, argnums=(0, 1))(variables, x))
  return outputs, grads


# (x shape, output channels, pixels per loop step): even sizes take the fused
# loop, odd ones the pool's padding; 1 to 6 loop steps.
FUSED_CASES = [((2, 6, 10, 3), 5, 16384), ((6, 4, 6, 3), 8, 24), ((4, 8, 8, 16), 32, 64),
               ((5, 6, 4, 8), 3, 48), ((3, 5, 7, 2), 4, 35)]


@pytest.mark.parametrize("shape,features,chunk_pixels", FUSED_CASES)
def test_conv3x3_relu_max_pool_equals_xla_conv_relu_and_max_pool(shape, features, chunk_pixels,
                                                                 monkeypatch):
  monkeypatch.setattr(conv, "_CHUNK_PIXELS", chunk_pixels)
  monkeypatch.setattr(conv, "_MATMUL_MIN_CHANNELS", 1)
  x = jax.random.normal(jax.random.key(0), shape)
  encoder = encoders.ConvEncoder((features,))  # One layer: conv, ReLU, max-pool.
  variables = encoder.init(jax.random.key(1), x)
  # A negative bias, so that many windows are all negative: ties at zero after the ReLU.
  variables["params"]["Conv3x3_0"]["bias"] -= 1.0
  outputs, grads = _outputs_and_grads(encoder, variables, x)
  chex.assert_shape(outputs[1], (shape[0], -(-shape[1] // 2) * -(-shape[2] // 2) * features))
  assert jnp.mean(outputs[1] == 0) > 0.05
  chex.assert_trees_all_close(outputs[0], outputs[1], atol=1e-5)
  chex.assert_trees_all_close(grads[0], grads[1], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("shape,widths,chunk_pixels", [((2, 6, 10, 3), (6, 5), 16384),
                                                        ((6, 4, 6, 1), (4, 8), 24),
                                                        ((3, 8, 8, 3), (8, 16), 64)])
def test_two_layer_encoder_in_one_loop_equals_xla(shape, widths, chunk_pixels, monkeypatch):
  monkeypatch.setattr(conv, "_CHUNK_PIXELS", chunk_pixels)
  monkeypatch.setattr(conv, "_MATMUL_MIN_CHANNELS", 1)
  calls = []
  stem_loop = fused_conv.stem_conv3x3_relu_max_pool
  monkeypatch.setattr(fused_conv, "stem_conv3x3_relu_max_pool",
                      lambda *args: calls.append(args[0].shape) or stem_loop(*args))
  x = jax.random.normal(jax.random.key(0), shape)
  encoder = encoders.ConvEncoder(widths)
  variables = encoder.init(jax.random.key(1), x)
  # Negative biases: many ReLU outputs at zero, and pool windows tied there.
  variables = jax.tree.map(lambda p: p - 0.5 if p.ndim == 1 else p, variables)
  outputs, grads = _outputs_and_grads(encoder, variables, x)
  assert calls and jnp.mean(outputs[1] == 0) > 0.05
  chex.assert_trees_all_close(outputs[0], outputs[1], atol=1e-5)
  chex.assert_trees_all_close(grads[0], grads[1], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("shape", [(1, 2, 2, 1), (2, 6, 10, 3), (3, 8, 4, 16)])
def test_winograd_tiles_give_the_convolution(shape):
  x = jax.random.normal(jax.random.key(0), shape)
  kernel = jax.random.normal(jax.random.key(1), (3, 3, shape[-1], 5))
  tiles = winograd.input_tiles(x)
  corners = winograd.output_corners(
      [tile @ u for tile, u in zip(tiles, winograd.kernel_transform(kernel))])
  batch, height, width, _ = shape
  # Each tile's row-major corners back in their places: [B, H/2, 2, W/2, 2, C].
  output = jnp.stack(corners).reshape(2, 2, batch, height // 2, width // 2, 5)
  output = output.transpose(2, 3, 0, 4, 1, 5).reshape(batch, height, width, 5)
  expected = jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME",
                                          dimension_numbers=("NHWC", "HWIO", "NHWC"))
  assert len(tiles) == 16 and tiles[0].shape == (batch * height * width // 4, shape[-1])
  chex.assert_trees_all_close(output, expected, atol=1e-5)


def test_winograd_transposes_are_the_linear_transposes():
  grad_corners = list(jax.random.normal(jax.random.key(0), (4, 6, 3)))
  products = [jax.ShapeDtypeStruct((6, 3), jnp.float32)] * 16
  expected, = jax.linear_transpose(winograd.output_corners, products)(grad_corners)
  chex.assert_trees_all_close(winograd.output_corners_transpose(grad_corners), expected)
  grad_transformed = jax.random.normal(jax.random.key(1), (16, 2, 3))
  kernel = jax.ShapeDtypeStruct((3, 3, 2, 3), jnp.float32)
  expected, = jax.linear_transpose(winograd.kernel_transform, kernel)(grad_transformed)
  chex.assert_trees_all_close(winograd.kernel_transform_transpose(grad_transformed), expected,
                              atol=1e-6)


def test_conv3x3_loops_give_the_same_inside_shard_map(monkeypatch):
  # Under shard_map a loop's carry must vary over devices as the data does.
  monkeypatch.setattr(conv, "_CHUNK_PIXELS", 48)  # One image per step, two steps per device.
  monkeypatch.setattr(conv, "_MATMUL_MIN_CHANNELS", 1)
  x = jax.random.normal(jax.random.key(0), (4, 8, 6, 3))
  kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, 5))
  grad_output = jax.random.normal(jax.random.key(2), (4, 8, 6, 5))
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:2]), ("data",))
  per_device = jax.shard_map(
      lambda x, g: (conv.convolve(x, kernel), jax.lax.psum(conv.kernel_gradient(x, g), "data")),
      mesh=mesh, in_specs=(jax.P("data"), jax.P("data")), out_specs=(jax.P("data"), jax.P()))
  chex.assert_trees_all_close(
      jax.jit(per_device)(x, grad_output),
      (conv.convolve(x, kernel), conv.kernel_gradient(x, grad_output)), atol=1e-4)


@pytest.mark.parametrize("stem", [False, True])
def test_fused_loops_give_the_same_gradients_inside_shard_map(stem, monkeypatch):
  monkeypatch.setattr(conv, "_CHUNK_PIXELS", 48)  # One image per step, two steps per device.
  monkeypatch.setattr(conv, "_MATMUL_MIN_CHANNELS", 1)
  x = jax.random.normal(jax.random.key(0), (4, 8, 6, 3))
  keys = jax.random.split(jax.random.key(1), 2)
  if stem:
    layers = jax.random.normal(keys[0], (3, 3, 3, 4)), jnp.full((4,), -0.2)
    layers += jax.random.normal(keys[1], (3, 3, 4, 5)), jnp.full((5,), -0.5)
    fused = fused_conv.stem_conv3x3_relu_max_pool
  else:
    layers = jax.random.normal(keys[0], (3, 3, 3, 5)), jnp.full((5,), -0.5)
    fused = fused_conv.conv3x3_relu_max_pool
  grads = jax.grad(lambda x, layers: jnp.sum(jnp.sin(fused(x, *layers))), argnums=(0, 1))
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:2]), ("data",))
  # As in train.py: each device's parameter gradients, then their sum.
  per_device = jax.shard_map(
      lambda x: (lambda g: (g[0], jax.lax.psum(g[1], "data")))(grads(x, layers)),
      mesh=mesh, in_specs=jax.P("data"), out_specs=(jax.P("data"), jax.P()), check_vma=False)
  chex.assert_trees_all_close(jax.jit(per_device)(x), grads(x, layers), atol=1e-4)


@pytest.mark.parametrize("widths", [(16, 32), (32, 64), (8, 16, 32)])
def test_encoder_has_the_same_parameters_with_either_kernels(widths):
  # Checkpoints are interchangeable: the same names, shapes and initial values.
  x = jnp.zeros((1, 8, 8, 3))
  params = []
  for choice in ("xla", "cpu"):
    with conv_backend.using(choice):
      params.append(encoders.ConvEncoder(widths).init(jax.random.key(0), x)["params"])
  assert sorted(params[0]) == [f"Conv3x3_{i}" for i in range(len(widths))]
  chex.assert_trees_all_equal(params[0], params[1])


def test_xla_kernels_are_plain_flax_convolutions_and_max_pool():
  with conv_backend.using("xla"):
    encoder = encoders.ConvEncoder((32, 64))
    x = jnp.zeros((2, 8, 8, 3))
    variables = encoder.init(jax.random.key(0), x)
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda v: encoder.apply(v, x).sum()))(variables))
  assert jaxpr.count("conv_general_dilated") == 5  # 2 forward, 2 kernel and 1 input gradient.
  assert "reduce_window_max" in jaxpr
  assert "custom_vjp" not in jaxpr and "while" not in jaxpr


def test_cpu_kernels_at_the_studys_widths_are_the_layers_ops_bitwise():
  # At (16, 32) nothing fuses: what the study's runs computed, layer by layer.
  x = jax.random.normal(jax.random.key(0), (2, 40, 128, 1))
  encoder = encoders.ConvEncoder((16, 32))
  with conv_backend.using("cpu"):
    variables = encoder.init(jax.random.key(1), x)
    output = encoder.apply(variables, x)
  layers = variables["params"]
  hidden = jax.nn.relu(conv.conv3x3(x, layers["Conv3x3_0"]["kernel"]) + layers["Conv3x3_0"]["bias"])
  last = conv.conv3x3(hidden, layers["Conv3x3_1"]["kernel"]) + layers["Conv3x3_1"]["bias"]
  expected = pooling.max_pool_2x2(jax.nn.relu(last))
  chex.assert_trees_all_equal(output, expected.reshape(2, -1))


@pytest.mark.parametrize("shape", [(2, 8, 6, 3), (1, 5, 7, 2)])
def test_max_pool_2x2_equals_flax_max_pool(shape):
  x = jax.random.normal(jax.random.key(0), shape)
  expected = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
  chex.assert_trees_all_close(pooling.max_pool_2x2(x), expected)


@pytest.mark.parametrize("shape", [(2, 8, 6, 3), (1, 5, 7, 2)])
def test_max_pool_2x2_gradient_equals_flax_max_pool_even_with_ties(shape):
  # Rounded to a few values, so that most windows hold tied maxima (as after a ReLU).
  x = jnp.round(jax.random.normal(jax.random.key(0), shape))
  weights = jax.random.normal(jax.random.key(1), pooling.max_pool_2x2(x).shape)
  flax_pool = lambda x: nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
  ours, expected = (jax.grad(lambda x: jnp.sum(pool(x) * weights))(x)
                    for pool in (pooling.max_pool_2x2, flax_pool))
  chex.assert_trees_all_equal(ours, expected)


def test_probe_step_loss_trajectory_does_not_depend_on_the_kernels(monkeypatch):
  # Every layer wide enough for the loops of products, the last by Winograd.
  monkeypatch.setattr(conv, "_MATMUL_MIN_CHANNELS", 1)
  losses = []
  for choice in ("xla", "cpu"):
    monkeypatch.setenv(conv_backend.ENV_VAR, choice)
    config = load_config("probe").model
    config.update(audio_widths=(4, 8), image_widths=(4, 8), embed_dim=16)
    model = fusion.build_model(config)
    audio = jnp.linspace(-1, 1, 4 * 40 * 128).reshape(4, 40, 128)
    image = (jnp.arange(4 * 64 * 128 * 3) % 251).astype(jnp.uint8).reshape(4, 64, 128, 3)
    labels = jnp.arange(4)
    params = model.init(jax.random.key(0), audio, image)["params"]
    optimizer = optax.sgd(0.05, momentum=0.9)
    opt_state = optimizer.init(params)

    def loss_fn(params):
      logits = model.apply({"params": params}, audio, image)["logits"]
      return sum(optax.softmax_cross_entropy_with_integer_labels(l, labels).mean()
                 for l in logits.values())

    trajectory = []
    loss_and_grads = jax.jit(jax.value_and_grad(loss_fn))
    for _ in range(5):
      loss, grads = loss_and_grads(params)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      params = optax.apply_updates(params, updates)
      trajectory.append(float(loss))
    losses.append(trajectory)
  np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
