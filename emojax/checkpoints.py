"""Orbax checkpoints in `<workdir>/checkpoints`: the last few epochs and the best one.

A checkpoint that does not restore (a deleted `_METADATA`, a truncated data file)
is damaged: `restore` names it and the intact epochs; `set_aside` moves it out of
the manager's sight, so that a resumed run can save that epoch again.
"""
import os
import shutil
from typing import Callable

import jax
import orbax.checkpoint as ocp
from absl import logging
from orbax.checkpoint import checkpoint_managers


class DamagedCheckpointError(RuntimeError):
  """A checkpoint that exists but does not restore."""


def maximised(select_metric: str) -> bool:
  """Accuracy and UAR are maximised; losses (val/loss, val/joint_ce, ...) minimised."""
  return select_metric.endswith(("_accuracy", "_uar"))


def manager(workdir: str, select_metric: str, keep: int) -> ocp.CheckpointManager:
  """A manager keeping the latest `keep` checkpoints and the best on `select_metric`.

  Steps are epochs; each save carries the epoch's validation metrics. Ties go
  to the earliest epoch.
  """
  if not select_metric.startswith("val/"):
    raise ValueError(f"config.train.select_metric={select_metric!r}: checkpoints are chosen "
                     "on validation, so it must be a val/ metric.")
  sign = 1 if maximised(select_metric) else -1

  # Of epochs with equal validation scores the earliest is best: a later one
  # did not improve on it.
  def score(metrics):
    return (sign * metrics[select_metric], -metrics["epoch"])

  policy = checkpoint_managers.AnyPreservationPolicy([
      checkpoint_managers.LatestN(keep),
      checkpoint_managers.BestN(get_metric_fn=score, n=1),
  ])
  options = ocp.CheckpointManagerOptions(
      preservation_policy=policy, best_fn=score, best_mode="max")
  return ocp.CheckpointManager(
      os.path.join(os.path.abspath(workdir), "checkpoints"), options=options)


def save(checkpoint_manager: ocp.CheckpointManager, epoch: int, state,
         metrics: dict[str, float]) -> None:
  checkpoint_manager.save(epoch, args=ocp.args.StandardSave(state),
                          metrics={**metrics, "epoch": epoch})


def _first_line(error: Exception) -> str:
  return f"{type(error).__name__}: {(str(error) or '-').splitlines()[0][:200]}"


def step_dir(checkpoint_manager: ocp.CheckpointManager, step: int) -> str:
  return os.path.join(str(checkpoint_manager.directory), str(step))


def _restore(checkpoint_manager: ocp.CheckpointManager, step: int, like):
  # Orbax restores into a given structure without the tree's metadata, but not
  # as saved: a checkpoint without it is damaged for every reader alike.
  metadata = os.path.join(step_dir(checkpoint_manager, step), "default", "_METADATA")
  if not os.path.isfile(metadata):
    raise FileNotFoundError(f"{metadata} is missing")
  # A fresh manager each time: one that met a damaged step keeps a wrong idea
  # of the items a checkpoint holds.
  if like is None:  # As saved, onto this process's first device.
    args = ocp.args.StandardRestore(
        fallback_sharding=jax.sharding.SingleDeviceSharding(jax.devices()[0]))
  else:
    args = ocp.args.StandardRestore(jax.tree.map(ocp.utils.to_shape_dtype_struct, like))
  with ocp.CheckpointManager(checkpoint_manager.directory) as fresh:
    return fresh.restore(step, args=args)


def intact_steps(checkpoint_manager: ocp.CheckpointManager, like=None) -> list[int]:
  """The saved epochs that restore into `like` (None: as saved)."""
  intact = []
  for step in checkpoint_manager.all_steps():
    try:
      _restore(checkpoint_manager, step, like)
      intact.append(step)
    except Exception:  # pylint: disable=broad-except
      pass  # Any failure to restore is damage; the caller names the step.
  return intact


def restore(checkpoint_manager: ocp.CheckpointManager, step: int, like=None):
  """Restores the state saved at `step` into the structure, shapes and shardings of
  `like`, or as saved onto this process's first device if None.

  Raises:
    DamagedCheckpointError: naming the checkpoint's directory and the intact epochs.
  """
  try:
    return _restore(checkpoint_manager, step, like)
  except Exception as error:  # pylint: disable=broad-except
    # Orbax raises many kinds (ValueError, JSONDecodeError, FileNotFoundError, ...).
    intact = [s for s in intact_steps(checkpoint_manager, like) if s != step]
    raise DamagedCheckpointError(
        f"The checkpoint {step_dir(checkpoint_manager, step)} is damaged and does not "
        f"restore ({_first_line(error)}); intact epochs: "
        f"{intact or 'none'} (choose one with --eval_step).") from error


def set_aside(checkpoint_manager: ocp.CheckpointManager, step: int) -> str:
  """Moves a damaged checkpoint to `<workdir>/damaged_checkpoints/<step>`; returns where."""
  source = step_dir(checkpoint_manager, step)
  target = os.path.join(os.path.dirname(str(checkpoint_manager.directory)),
                        "damaged_checkpoints", str(step))
  if os.path.exists(target):
    shutil.rmtree(target)
  os.makedirs(os.path.dirname(target), exist_ok=True)
  shutil.move(source, target)
  logging.warning("Set the damaged checkpoint %s aside as %s.", source, target)
  return target


def restore_latest_intact(make_manager: Callable[[], ocp.CheckpointManager], like):
  """(epoch, state, manager) of the newest checkpoint that restores, with damaged
  newer ones set aside and a warning naming each; (0, like, manager) if none.

  `make_manager` makes the manager anew once damaged steps are gone, so that
  it saves the next epochs as it would in a sound directory.
  """
  while True:
    checkpoint_manager = make_manager()
    steps = checkpoint_manager.all_steps()
    if not steps:
      return 0, like, checkpoint_manager
    step = max(steps)
    try:
      return step, _restore(checkpoint_manager, step, like), checkpoint_manager
    except Exception as error:  # pylint: disable=broad-except
      logging.warning("The checkpoint %s is damaged (%s); resuming from an earlier one.",
                      step_dir(checkpoint_manager, step), _first_line(error))
      checkpoint_manager.close()
      set_aside(checkpoint_manager, step)
