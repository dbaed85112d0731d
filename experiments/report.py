r"""Refreshes RESULTS.md's tables from results/*.md, which the experiments write.

  python -m experiments.report

Each table sits in RESULTS.md between `<!-- results/NAME.md -->` and
`<!-- end -->`; the prose around them is written by hand from those numbers.
"""
import re
import sys

PATH = "RESULTS.md"
_BLOCK = re.compile(r"(<!-- (results/[\w.]+\.md) -->\n).*?(<!-- end -->)", re.DOTALL)


def refresh(text: str) -> str:
  """`text` with every marked block replaced by the current content of its file."""
  def table(match: re.Match) -> str:
    with open(match.group(2)) as f:
      return f"{match.group(1)}{f.read().rstrip()}\n{match.group(3)}"
  return _BLOCK.sub(table, text)


def main() -> int:
  with open(PATH) as f:
    text = f.read()
  try:
    refreshed = refresh(text)
  except FileNotFoundError as error:
    print(f"{PATH} names a table that no experiment has written: {error.filename}",
          file=sys.stderr)
    return 1
  with open(PATH, "w") as f:
    f.write(refreshed)
  print(f"Refreshed {len(_BLOCK.findall(text))} tables in {PATH}.")
  return 0


if __name__ == "__main__":
  sys.exit(main())
