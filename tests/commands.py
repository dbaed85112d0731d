"""Command lines the end-to-end tests run as subprocesses."""
import sys


def tiny_probe_training(workdir, tfds_dir, num_epochs: int, widths: str = "(4, 8)") -> list[str]:
  """`python -m emojax.main` on the probe config with a network small enough for seconds
  (conv `widths` in both encoders)."""
  return [sys.executable, "-m", "emojax.main", "--config=configs/probe.py",
          f"--workdir={workdir}", f"--config.data.tfds_dir={tfds_dir}",
          f"--config.train.num_epochs={num_epochs}", f"--config.model.audio_widths={widths}",
          f"--config.model.image_widths={widths}", "--config.model.embed_dim=16",
          "--config.model.joint_hidden=(16,)", "--config.model.probe_hidden=(16,)"]
