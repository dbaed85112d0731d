import numpy as np
import pytest

from configs import common
from emojax.data import splits
from tools import emobox_folds

FOLDS_FILE = common.get_data_config().split.folds_file


def test_stratified_split_holds_every_example_once():
  labels = np.repeat(np.arange(8), 15)
  parts = splits.stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
  joined = np.concatenate(parts)
  np.testing.assert_array_equal(np.sort(joined), np.arange(len(labels)))


def test_stratified_split_sizes_follow_fractions_per_class():
  labels = np.repeat(np.arange(8), 20)
  train, val, test = splits.stratified_split(labels, (0.8, 0.1, 0.1), seed=0)
  for part, per_class in ((train, 16), (val, 2), (test, 2)):
    np.testing.assert_array_equal(np.bincount(labels[part], minlength=8), per_class)


def test_stratified_split_depends_only_on_seed():
  labels = np.repeat(np.arange(4), 10)
  first = splits.stratified_split(labels, (0.5, 0.5), seed=3)
  again = splits.stratified_split(labels, (0.5, 0.5), seed=3)
  other = splits.stratified_split(labels, (0.5, 0.5), seed=4)
  np.testing.assert_array_equal(first[0], again[0])
  assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (1.2, -0.2)])
def test_stratified_split_rejects_bad_fractions(fractions):
  with pytest.raises(ValueError, match="fractions"):
    splits.stratified_split(np.zeros(10, int), fractions, seed=0)


@pytest.mark.parametrize("fractions,train_share", [((0.5, 0.1, 0.4), 0.5),
                                                   ((0.25, 0.1, 0.65), 0.25)])
def test_low_data_splits_train_on_the_given_share(fractions, train_share):
  labels = np.repeat(np.arange(8), 40)
  train, val, test = splits.stratified_split(labels, fractions, seed=0)
  assert len(train) == train_share * len(labels)
  assert len(val) == 0.1 * len(labels)
  assert len(np.intersect1d(train, test)) == 0


@pytest.mark.parametrize("fraction,expected", [(0.5, [1, 2, 3, 4, 13, 14, 15, 16]),
                                               (0.25, [1, 2, 3, 4])])
def test_fewer_train_actors_keeps_as_many_women_as_men(fraction, expected):
  fold = splits.load_actor_folds(FOLDS_FILE)[1]
  fewer = splits.fewer_train_actors(fold, fraction)
  assert fewer["train"] == expected
  assert fewer["val"] == fold["val"] and fewer["test"] == fold["test"]
  with pytest.raises(ValueError, match="train_fraction"):
    splits.fewer_train_actors(fold, 0.0)


def test_emobox_folds_test_emoboxs_actors_and_validate_on_two_men_and_two_women():
  folds = splits.load_actor_folds("configs/emobox_actor_folds.json")
  assert folds == emobox_folds.emobox_folds()  # The committed file is the tool's.
  assert [fold["test"] for fold in folds] == list(emobox_folds.TEST_ACTORS)
  for fold in folds:
    assert sorted(fold["train"] + fold["val"] + fold["test"]) == list(range(1, 25))
    assert len(fold["train"]) == 16 and sorted(a % 2 for a in fold["val"]) == [0, 0, 1, 1]
