"""The study's networks as one configurable module: encoders per modality, optional
dimension equalisers, a fusion head and optional probes.

| network (config)            | audio | visual     | equalise | fusion  | probes |
|-----------------------------|-------|------------|----------|---------|--------|
| audio / image / au baseline | cnn / - | - / image / au | no   | concat  | no     |
| 1 concat                    | cnn   | image / au | no       | concat  | no     |
| 2 concat_lstm               | lstm  | image / au | no       | concat  | no     |
| 3 concat_equalized          | cnn   | image / au | yes      | concat  | no     |
| 4 probe                     | cnn   | image / au | yes      | concat  | yes    |
| 0 joint_loss, similarity    | cnn   | image / au | yes      | shared  | no     |
| linear                      | -     | - / au     | no       | concat  | no     |

`acoustic_encoder="mlp"` adds a third input, a clip's acoustic functionals
(`emojax.data.acoustic`, standardised), read by an MLP like the action units';
with no widths and no joint hidden layer the network is a logistic regression
(`configs/linear.py`: on functionals or action units).

Heads (logits [batch, classes]): "joint" is the network's prediction (the MLP on
the concatenated embeddings, or for a shared classifier the mean of its logits
over the modalities present); "<modality>" is the shared classifier applied to
one modality's embedding; "<modality>_probe" a probe MLP on one embedding.
A missing modality (None) drops the heads that need it, so probes classify alone.
With `dropout` > 0, training (`train=True`, a "dropout" rng) drops features of
each embedding and of the heads' hidden layers.
"""
import dataclasses
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from emojax.models import encoders
from emojax.models import heads

VISUAL = ("image", "au")
FUSIONS = ("concat", "shared")
# config.model.audio_pooling -> ConvEncoder pooling: an MFCC image's width is time.
AUDIO_POOLINGS = {"flatten": "flatten", "time_mean": "width_mean",
                  "time_attention": "width_attention"}
# Keys that older run directories saved in config.model but that do not change
# the network: the convolution kernels are now chosen at run time (conv_backend).
LEGACY_RUN_TIME_KEYS = ("conv_impl",)


def prepare_audio(mfcc: jnp.ndarray) -> jnp.ndarray:
  """[batch, n_mfcc, frames] MFCCs -> [batch, n_mfcc, frames, 1] float32 image."""
  return mfcc.astype(jnp.float32)[..., None]


def prepare_image(image: jnp.ndarray) -> jnp.ndarray:
  """[batch, H, 2W, 3] uint8 -> float32 in [0, 1]; converted on device to keep transfers small."""
  return image.astype(jnp.float32) / 255.0


class FusionNetwork(nn.Module):
  """See the module docstring. Returns {"logits": {head: [batch, classes]},
  "embeddings": {modality: [batch, dim]}}."""
  audio_encoder: str  # "cnn", "lstm" or "" (no audio).
  visual: str  # "image", "au" or "" (no visual modality).
  fusion: str
  num_classes: int
  audio_widths: Sequence[int] = (16, 32)
  # Or "time_mean": the CNN's features averaged over frames; "time_attention": each
  # frame's features layer-normalised and averaged by learned attention weights.
  audio_pooling: str = "flatten"
  image_widths: Sequence[int] = (16, 32)
  lstm_size: int = 128
  au_widths: Sequence[int] = (64, 64)
  acoustic_encoder: str = ""  # "mlp" or "" (no acoustic functionals).
  acoustic_widths: Sequence[int] = (64, 64)
  embed_dim: int = 0  # 0: no equalisers.
  joint_hidden: Sequence[int] = (256, 128)
  shared_hidden: Sequence[int] = (128,)
  probe_hidden: Sequence[int] = ()
  probes: bool = False
  dropout: float = 0.0  # Rate on the embeddings and the heads' hidden layers, in training.

  @property
  def modalities(self) -> tuple[str, ...]:
    return tuple(m for m, on in (("audio", self.audio_encoder),
                                 ("acoustic", self.acoustic_encoder),
                                 (self.visual, self.visual)) if on)

  @property
  def heads(self) -> tuple[str, ...]:
    names = ["joint"]
    if self.fusion == "shared":
      names += list(self.modalities)
    if self.probes:
      names += [f"{m}_probe" for m in self.modalities]
    return tuple(names)

  def _encode(self, modality: str, x: jnp.ndarray) -> jnp.ndarray:
    if modality == "audio" and self.audio_encoder == "cnn":
      return encoders.ConvEncoder(self.audio_widths, AUDIO_POOLINGS[self.audio_pooling],
                                  name="audio_encoder")(prepare_audio(x))
    if modality == "audio" and self.audio_encoder == "lstm":
      return encoders.LSTMEncoder(self.lstm_size, name="audio_encoder")(x.astype(jnp.float32))
    if modality == "image":
      return encoders.ConvEncoder(self.image_widths, name="image_encoder")(
          prepare_image(x))
    if modality == "au":
      return encoders.MLPEncoder(self.au_widths, name="au_encoder")(x)
    if modality == "acoustic":
      return encoders.MLPEncoder(self.acoustic_widths, name="acoustic_encoder")(x)
    raise ValueError(f"No encoder for modality {modality!r} with audio_encoder="
                     f"{self.audio_encoder!r}; expected audio_encoder cnn or lstm.")

  @nn.compact
  def __call__(self, audio=None, image=None, au=None, acoustic=None,
               train: bool = False) -> dict:
    inputs = {"audio": audio, "image": image, "au": au, "acoustic": acoustic}
    embeddings = {}
    for modality in self.modalities:
      if inputs[modality] is not None:
        embedding = self._encode(modality, inputs[modality])
        if self.embed_dim:
          embedding = heads.Equaliser(self.embed_dim, name=f"{modality}_equaliser")(embedding)
        embeddings[modality] = embedding
    if not embeddings:
      raise ValueError(f"The network reads {self.modalities}; none was given.")

    classes = (self.num_classes,)
    dropped = {m: nn.Dropout(self.dropout, deterministic=not train)(embedding)
               for m, embedding in embeddings.items()}
    logits = {}
    if self.fusion == "concat" and len(embeddings) == len(self.modalities):
      joint = jnp.concatenate([dropped[m] for m in self.modalities], axis=-1)
      logits["joint"] = heads.MLP((*self.joint_hidden, *classes), self.dropout,
                                  name="joint_classifier")(joint, train)
    elif self.fusion == "shared":
      classifier = heads.MLP((*self.shared_hidden, *classes), self.dropout,
                             name="shared_classifier")
      for modality, embedding in dropped.items():
        logits[modality] = classifier(embedding, train)
      logits["joint"] = jnp.mean(jnp.stack([logits[m] for m in embeddings]), axis=0)
    elif self.fusion not in FUSIONS:
      raise ValueError(f"Unknown config.model.fusion {self.fusion!r}; expected one of {FUSIONS}.")
    if self.probes:
      for modality, embedding in dropped.items():
        logits[f"{modality}_probe"] = heads.MLP(
            (*self.probe_hidden, *classes), self.dropout, name=f"{modality}_probe")(
                embedding, train)
    return {"logits": logits, "embeddings": embeddings}


def build_model(model_config: ml_collections.ConfigDict) -> FusionNetwork:
  """The network of `config.model`; fails naming the key of an invalid choice."""
  if model_config.audio_encoder not in ("cnn", "lstm", ""):
    raise ValueError(f"Unknown config.model.audio_encoder {model_config.audio_encoder!r}; "
                     "expected 'cnn', 'lstm' or ''.")
  if model_config.get("acoustic_encoder", "") not in ("mlp", ""):
    raise ValueError(f"Unknown config.model.acoustic_encoder {model_config.acoustic_encoder!r}; "
                     "expected 'mlp' or ''.")
  if model_config.visual not in (*VISUAL, ""):
    raise ValueError(f"Unknown config.model.visual {model_config.visual!r}; "
                     f"expected one of {VISUAL} or ''.")
  if model_config.get("audio_pooling", "flatten") not in AUDIO_POOLINGS:
    raise ValueError(f"Unknown config.model.audio_pooling {model_config.audio_pooling!r}; "
                     f"expected one of {tuple(AUDIO_POOLINGS)}.")
  if model_config.fusion not in FUSIONS:
    raise ValueError(f"Unknown config.model.fusion {model_config.fusion!r}; "
                     f"expected one of {FUSIONS}.")
  if model_config.fusion == "shared" and not model_config.embed_dim:
    raise ValueError("config.model.fusion='shared' needs config.model.embed_dim > 0: one "
                     "classifier reads every modality's embedding, so they must be one size.")
  known = {field.name for field in dataclasses.fields(FusionNetwork)} - {"parent", "name"}
  unknown = sorted(set(model_config) - known - set(LEGACY_RUN_TIME_KEYS))
  if unknown:
    raise ValueError(f"Unknown config.model keys {unknown}; known: {sorted(known)}.")
  fields = {key: tuple(value) if isinstance(value, (list, tuple)) else value
            for key, value in model_config.items() if key not in LEGACY_RUN_TIME_KEYS}
  return FusionNetwork(**fields)


def summary(params: dict) -> str:
  """One line per top-level module with its parameter count, then the total."""
  counts = {name: sum(leaf.size for leaf in jax.tree.leaves(tree)) for name, tree in params.items()}
  lines = [f"{name:24s} {count:>12,d}" for name, count in counts.items()]
  lines.append(f"{'total':24s} {sum(counts.values()):>12,d}")
  return "\n".join(lines)
