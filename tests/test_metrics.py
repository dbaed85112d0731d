import json

import jax.numpy as jnp
import numpy as np

from emojax import metrics


def test_confusion_matrix_counts_only_masked_in_examples():
  logits = jnp.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 5.0]])
  labels = jnp.array([0, 0, 1, 1])
  mask = jnp.array([1.0, 1.0, 1.0, 0.0])
  np.testing.assert_array_equal(metrics.confusion_matrix(logits, labels, mask),
                                [[1, 1], [1, 0]])


def test_accuracy_and_uar_differ_on_imbalanced_classes():
  confusion = np.array([[8, 0], [1, 1]])  # 8 of class 0 right, 1 of 2 of class 1.
  assert metrics.accuracy(confusion) == 0.9
  assert metrics.unweighted_average_recall(confusion) == 0.75


def test_uar_ignores_absent_classes():
  confusion = np.array([[1, 1, 0], [0, 0, 0], [0, 0, 2]])
  assert metrics.unweighted_average_recall(confusion) == 0.75


def test_summarise_names_keys_by_split_and_head():
  summary = metrics.summarise("test", {"joint": np.eye(2), "audio_probe": np.ones((2, 2))})
  assert summary == {"test/joint_accuracy": 1.0, "test/joint_uar": 1.0,
                     "test/audio_probe_accuracy": 0.5, "test/audio_probe_uar": 0.5}


def test_compact_json_puts_each_list_of_numbers_on_one_line(tmp_path):
  value = {"probabilities": [[0.1, 0.9], [1e-05, 0.99999]], "label": [0, 1],
           "channels": ["speech", "two  spaces"], "epochs": [{"loss": 1.5}]}
  loose, compact = tmp_path / "loose.json", tmp_path / "compact.json"
  metrics.write_json(str(loose), value)
  metrics.write_json(str(compact), value, compact_numbers=True)
  assert json.loads(compact.read_text()) == json.loads(loose.read_text()) == value
  assert '"label": [0, 1]' in compact.read_text() and "[0.1, 0.9]" in compact.read_text()
  assert len(compact.read_text().splitlines()) < len(loose.read_text().splitlines()) - 6
