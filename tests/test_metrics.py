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
