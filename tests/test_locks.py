"""A lock held by another live process refuses or waits; a killed holder frees it."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from emojax import locks

_HOLD = ("import sys, time; from emojax import locks\n"
         "with locks.hold(sys.argv[1], 'the test directory'):\n"
         "  print('held', flush=True); time.sleep(600)\n")


@pytest.fixture
def holder(tmp_path):
  """A second process holding tmp_path/lock until killed."""
  path = str(tmp_path / "lock")
  process = subprocess.Popen([sys.executable, "-c", _HOLD, path], stdout=subprocess.PIPE,
                             text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
  assert process.stdout.readline().strip() == "held"
  yield path, process
  process.kill()
  process.wait()


def test_a_second_process_is_refused_with_the_holders_pid(holder):
  path, process = holder
  with pytest.raises(locks.BusyError, match=f"process {process.pid} on .*lock file {path}"):
    with locks.hold(path, "the test directory"):
      pass


def test_a_killed_holder_leaves_nothing_that_blocks(holder):
  path, process = holder
  os.kill(process.pid, signal.SIGKILL)
  process.wait()
  with locks.hold(path, "the test directory"):
    assert f'"pid": {os.getpid()}' in open(path).read()


def test_a_waiting_process_gets_the_lock_when_the_holder_dies(holder):
  path, process = holder
  threading.Timer(1.0, process.kill).start()
  start = time.monotonic()
  with locks.hold(path, "the test directory", wait=True):
    assert time.monotonic() - start >= 0.9
