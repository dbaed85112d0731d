"""Audio-visual networks of the study, assembled from encoders and heads."""
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp
import ml_collections

from emojax.models import encoders
from emojax.models import heads


def prepare_audio(mfcc: jnp.ndarray) -> jnp.ndarray:
  """[batch, n_mfcc, frames] MFCCs -> [batch, n_mfcc, frames, 1] float32 image."""
  return mfcc.astype(jnp.float32)[..., None]


def prepare_image(image: jnp.ndarray) -> jnp.ndarray:
  """[batch, H, 2W, 3] uint8 -> float32 in [0, 1]; converted on device to keep transfers small."""
  return image.astype(jnp.float32) / 255.0


MODALITIES = ("audio", "image")
HEADS = ("joint", "audio_probe", "image_probe")


class ProbeNetwork(nn.Module):
  """Architecture 4: audio and image CNNs, equalisers, a joint MLP on the
  concatenated embeddings and one probe MLP per modality.

  Returns {"logits": {"joint", "audio_probe", "image_probe"} -> [batch, classes],
           "embeddings": {"audio", "image"} -> [batch, embed_dim]}.
  """
  audio_widths: Sequence[int]
  image_widths: Sequence[int]
  embed_dim: int
  joint_hidden: Sequence[int]
  probe_hidden: Sequence[int]
  num_classes: int
  conv_impl: str = "auto"

  @nn.compact
  def __call__(self, audio: jnp.ndarray, image: jnp.ndarray) -> dict:
    audio_embedding = heads.Equaliser(self.embed_dim, name="audio_equaliser")(
        encoders.ConvEncoder(self.audio_widths, self.conv_impl, name="audio_encoder")(prepare_audio(audio)))
    image_embedding = heads.Equaliser(self.embed_dim, name="image_equaliser")(
        encoders.ConvEncoder(self.image_widths, self.conv_impl, name="image_encoder")(prepare_image(image)))
    joint = jnp.concatenate([audio_embedding, image_embedding], axis=-1)
    classes = (self.num_classes,)
    logits = {
        "joint": heads.MLP((*self.joint_hidden, *classes), name="joint_classifier")(joint),
        "audio_probe": heads.MLP((*self.probe_hidden, *classes), name="audio_probe")(audio_embedding),
        "image_probe": heads.MLP((*self.probe_hidden, *classes), name="image_probe")(image_embedding),
    }
    return {"logits": logits, "embeddings": {"audio": audio_embedding, "image": image_embedding}}


def build_model(model_config: ml_collections.ConfigDict) -> ProbeNetwork:
  return ProbeNetwork(
      audio_widths=tuple(model_config.audio_widths),
      image_widths=tuple(model_config.image_widths),
      embed_dim=model_config.embed_dim,
      joint_hidden=tuple(model_config.joint_hidden),
      probe_hidden=tuple(model_config.probe_hidden),
      num_classes=model_config.num_classes,
      conv_impl=model_config.conv_impl,
  )
