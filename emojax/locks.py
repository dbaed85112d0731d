"""One process at a time on a run directory or a feature set.

flock(2) locks: the kernel releases one when its holder exits, however it exits,
so a lock left by a killed process never blocks the next. The file names the
holder (host and pid) for the message the next process prints.
"""
import contextlib
import fcntl
import json
import os
import socket
import time
from typing import Iterator

from absl import logging


class BusyError(RuntimeError):
  """Another live process holds the lock."""


def _holder(path: str) -> str:
  try:
    with open(path) as f:
      holder = json.load(f)
    return f"process {holder['pid']} on {holder['host']} (since {holder['since']})"
  except (OSError, ValueError, KeyError):
    return "another process"


@contextlib.contextmanager
def hold(path: str, what: str, wait: bool = False) -> Iterator[None]:
  """Holds the lock file `path` for `what` (a phrase for messages) while inside.

  Raises:
    BusyError: naming the holder, if another process holds it and not `wait`.
  """
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, "a+") as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = _holder(path)
      if not wait:
        raise BusyError(f"{what} is in use by {holder} (lock file {path}); wait for it to "
                        "finish, or use another directory.") from None
      logging.warning("Waiting for %s, which holds %s (lock file %s).", holder, what, path)
      fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    f.truncate()
    json.dump({"pid": os.getpid(), "host": socket.gethostname(),
               "since": time.strftime("%Y-%m-%d %H:%M:%S")}, f)
    f.flush()
    yield
