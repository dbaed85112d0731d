"""Which kernels the encoders' convolutions run: a run-time choice, not part of a network.

EMOJAX_CONV (or --conv_impl on emojax.main, emojax.predict and tools.benchmark):
- "cpu": emojax/models/cpu/, loops of matrix products that use every core (on
  CPU the reference train step is 1.7x faster than with XLA's, BENCHMARKS.md);
- "xla": nn.Conv and nn.max_pool as XLA compiles them (GPU, TPU);
- "auto" (the default): "cpu" on a CPU backend, "xla" elsewhere.
Both have the same parameters and give the same values within float rounding,
so a run trained with one evaluates, resumes and predicts with the other. The
choice is read when a model is traced, so set it before jitting.
"""
import contextlib
import os
from typing import Iterator

import jax

ENV_VAR = "EMOJAX_CONV"
CHOICES = ("auto", "cpu", "xla")
FLAG_HELP = (f"Convolution kernels: cpu (emojax/models/cpu/), xla, or auto (cpu on a CPU "
             f"backend, xla elsewhere). Default: ${ENV_VAR}, else auto.")


def _checked(choice: str, source: str) -> str:
  if choice not in CHOICES:
    raise ValueError(f"Unknown convolution kernels {choice!r} in {source}; expected one of "
                     f"{CHOICES}.")
  return choice


def select(choice: str) -> None:
  """Sets the choice for this process and the processes it starts (e.g. from a flag)."""
  os.environ[ENV_VAR] = _checked(choice, "--conv_impl")


@contextlib.contextmanager
def using(choice: str) -> Iterator[None]:
  """The choice for models traced inside the block; the previous one after it."""
  previous = os.environ.get(ENV_VAR)
  select(choice)
  try:
    yield
  finally:
    if previous is None:
      del os.environ[ENV_VAR]
    else:
      os.environ[ENV_VAR] = previous


def resolved() -> str:
  """"cpu" or "xla": the kernels a model traced now runs."""
  choice = _checked(os.environ.get(ENV_VAR, "auto"), f"${ENV_VAR}")
  if choice == "auto":
    return "cpu" if jax.default_backend() == "cpu" else "xla"
  return choice
