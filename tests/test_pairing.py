import numpy as np
import pytest

from emojax.data import pairing


def test_pair_by_class_labels_always_match():
  image_labels = np.array([0, 1, 1, 2, 2, 2, 0, 1])
  audio_labels = np.array([2, 0, 1, 2])
  paired = pairing.pair_by_class(image_labels, audio_labels, seed=0)
  np.testing.assert_array_equal(audio_labels[paired], image_labels)


def test_pair_by_class_uses_partners_evenly():
  image_labels = np.zeros(9, int)
  audio_labels = np.zeros(3, int)
  paired = pairing.pair_by_class(image_labels, audio_labels, seed=1)
  np.testing.assert_array_equal(np.bincount(paired), [3, 3, 3])


def test_pair_by_class_without_a_partner_of_a_class_names_it():
  with pytest.raises(ValueError, match="Class 5"):
    pairing.pair_by_class(np.array([5, 5]), np.array([1, 2]), seed=0)
