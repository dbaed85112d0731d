r"""Writes configs/emobox_actor_folds.json: EmoBox's six speaker-independent folds of
RAVDESS speech (Ma et al., "EmoBox", Interspeech 2024), each with four validation
actors carved out of its 20 training actors.

  python -m tools.emobox_folds

Validation actors: of a fold's 20 non-test actors, two men (odd numbers) and two
women (even), drawn by numpy.random.default_rng(fold index); the other 16 train.
"""
import json

import numpy as np

PATH = "configs/emobox_actor_folds.json"
TEST_ACTORS = ([1, 11, 20, 21], [4, 10, 12, 14], [8, 9, 19, 23], [3, 5, 7, 24],
               [2, 15, 16, 18], [6, 13, 17, 22])
DESCRIPTION = (
    "RAVDESS folds of EmoBox (Interspeech 2024): six folds, each testing the four actors "
    "EmoBox tests; validation: two men and two women of the other 20, drawn by "
    "numpy.random.default_rng(fold index) (tools/emobox_folds.py); the other 16 train.")


def emobox_folds() -> list[dict[str, list[int]]]:
  folds = []
  for index, test in enumerate(TEST_ACTORS):
    rng = np.random.default_rng(index)
    others = [actor for actor in range(1, 25) if actor not in test]
    val = [int(actor) for sex in (1, 0)
           for actor in rng.choice([a for a in others if a % 2 == sex], 2, replace=False)]
    folds.append({"train": [a for a in others if a not in val], "val": sorted(val),
                  "test": test})
  return folds


def main():
  lines = ",\n".join(f"  {json.dumps(fold)}" for fold in emobox_folds())
  with open(PATH, "w") as f:
    f.write(f'{{\n "description": {json.dumps(DESCRIPTION)},\n "folds": [\n{lines}\n ]\n}}\n')
  print(f"Wrote {PATH}")


if __name__ == "__main__":
  main()
