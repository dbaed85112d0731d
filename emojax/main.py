r"""Trains or evaluates one config.

  python -m emojax.main --config=configs/probe.py --workdir=/tmp/emojax_probe
  python -m emojax.main --workdir=/tmp/emojax_probe --mode=eval

Any config value can be overridden, e.g. --config.train.num_epochs=2. A workdir's
own config.json is the truth for resuming or evaluating its run: --config may be
omitted there, and overrides may change only run-time keys (emojax.run_dir).
--conv_impl=xla (or EMOJAX_CONV=xla) runs XLA's convolutions instead of the CPU
kernels: a run-time choice, so a run trained with either evaluates and resumes
with the other.
"""
import logging as python_logging

import jax
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from emojax import checkpoints
from emojax import locks
from emojax import run_dir
from emojax import train
from emojax.models import conv_backend

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and metrics.")
_MODE = flags.DEFINE_enum("mode", "train", ["train", "eval"],
                          "train: train, then report the selected checkpoint; "
                          "eval: only restore and report it.")
_EVAL_STEP = flags.DEFINE_integer(
    "eval_step", None, "--mode=eval: the epoch whose checkpoint to evaluate (default: the one "
    "selected on validation).")
_EVAL_SPLITS = flags.DEFINE_list("eval_splits", ["val", "test"], "--mode=eval: the splits.")
_CONV_IMPL = flags.DEFINE_enum("conv_impl", None, conv_backend.CHOICES, conv_backend.FLAG_HELP)
_DISTRIBUTED = flags.DEFINE_bool(
    "jax_distributed", False, "Multi-host: call jax.distributed.initialize first. The "
    "coordinator, process count and id come from the flags below, else from the cluster "
    "environment (SLURM, TPU pods, ...).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "host:port of process 0.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index.")
flags.mark_flags_as_required(["workdir"])


def parse_flags(argv: list[str]) -> list[str]:
  """Parses flags; an override of a config key that does not exist fails with its name."""
  try:
    return flags.FLAGS(argv)
  except (KeyError, AttributeError) as error:
    while error.args and isinstance(error.args[0], BaseException):
      error = error.args[0]  # ml_collections wraps the KeyError in an AttributeError.
    key, *hint = str(error.args[0]).split("\n")
    key = key.strip("'\"")
    overrides = [arg.split("=")[0] for arg in argv if arg.startswith("--config.")]
    bad = [o for o in overrides if key in o.split(".")] or overrides
    raise SystemExit(f"Unknown config key {key!r} in {', '.join(bad)}: the config file has no "
                     f"such field. {' '.join(hint)}".strip()) from None


def _quiet_orbax(record: python_logging.LogRecord) -> bool:
  # Orbax logs every checkpoint step at INFO; keep its warnings only.
  return record.levelno >= python_logging.WARNING or "orbax" not in record.pathname


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.get_absl_logger().addFilter(_quiet_orbax)
  if _DISTRIBUTED.value:
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  if _CONV_IMPL.value:
    conv_backend.select(_CONV_IMPL.value)
  logging.info("JAX process %d of %d; local devices: %s; convolutions: %s", jax.process_index(),
               jax.process_count(), jax.local_devices(), conv_backend.resolved())
  overrides = config_flags.get_override_values(flags.FLAGS["config"]) if _CONFIG.value else {}
  try:
    config = run_dir.resolve_config(_WORKDIR.value, _CONFIG.value, overrides)
    if _MODE.value == "train":
      train.train_and_evaluate(config, _WORKDIR.value)
    else:
      train.evaluate(config, _WORKDIR.value, _EVAL_STEP.value, tuple(_EVAL_SPLITS.value))
  except (run_dir.RunDirError, checkpoints.DamagedCheckpointError, locks.BusyError) as error:
    raise SystemExit(f"Error: {error}") from None


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
