"""The README and docs/: length, links that resolve, references that stay inside the repository,
no wording about how the project was made, and figures that docs/figures.py re-creates.

Links are checked against the files and the headings' anchors (GitHub's rule: lower case, characters
other than letters, digits, '_', '-' and spaces dropped, spaces to '-'), written out here.
"""
import importlib.util
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README_MAX_LINES = 250
PNG_MAX_BYTES = 100_000
TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".ini", ".cfg", ".csv", ".json", ".sh", ".yaml",
                 ".yml"}
TEXT_NAMES = {"Makefile", "run"}
SKIPPED_DIRS = ("weights/",)  # the vocabulary files are data, not prose
# Developer notes and the folder holding them, which no clone has (named in pieces, so that this
# file does not cite them itself).
NOTE_NAMES = ("ALGORITHMS", "PERF", "ANCHORS", "DATA", "JAX_STACK")
NOTES_DIR = "shared" + "/reference"
OUTSIDE_FILES = re.compile(
    rf"\b({'|'.join(NOTE_NAMES)})\.md\b|\bALGORITHMS §|§ ?\d|{NOTES_DIR}")
PROCESS_WORDING = re.compile(
    r"(?<!test )\bsessions?\b|\bwork periods?\b|\b(earlier|later|previous) (host|machine|session)"
    r"|\bstop \(?\d+\)?|\bCI (run|stop)s?\b", re.IGNORECASE)
# (file, line) pairs that name an outside file on purpose: asserting that a message does not.
ALLOWED_LINES = {("tests/launch_test.py", 'assert "DATA.md" not in msg')}

USE_FROM_PYTHON = '''```python
import flaxnlp
predictor = flaxnlp.load("runs/default")
print(predictor.predict(["海钓比赛地点在厦门与金门之间的海域。"]))
```'''


def tracked_text_files() -> list[str]:
  """Paths (relative to ROOT) of the text files git tracks, this test's own file excluded."""
  names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.splitlines()
  return [n for n in names
          if (pathlib.Path(n).suffix in TEXT_SUFFIXES or pathlib.Path(n).name in TEXT_NAMES)
          and not n.startswith(SKIPPED_DIRS) and n != "tests/docs_test.py"]


def offending_lines(pattern: re.Pattern, names) -> list[str]:
  """'path:line: text' for every line of `names` that `pattern` finds, allowed lines excepted."""
  found = []
  for name in names:
    path = ROOT / name
    if not path.is_file():
      continue
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
      if pattern.search(line) and (name, line.strip()) not in ALLOWED_LINES:
        found.append(f"{name}:{number}: {line.strip()}")
  return found


def without_code_blocks(markdown: str) -> str:
  """`markdown` with its fenced code blocks removed (their links and '#' lines are not Markdown)."""
  return re.sub(r"^ *```.*?^ *```", "", markdown, flags=re.DOTALL | re.MULTILINE)


def anchor(heading: str) -> str:
  """GitHub's anchor of a heading's text."""
  return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: pathlib.Path) -> set[str]:
  """The anchors of every heading of the Markdown file `path`."""
  text = without_code_blocks(path.read_text(encoding="utf-8"))
  return {anchor(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.MULTILINE)}


def broken_links(page: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
  """The relative links of `page` (a Markdown file under `root`) whose file or heading does not
  exist."""
  broken = []
  text = without_code_blocks(page.read_text(encoding="utf-8"))
  for target in re.findall(r"\]\(([^)\s]+)\)", text):
    if re.match(r"[a-z]+:", target):  # https:, mailto:
      continue
    file_part, _, fragment = target.partition("#")
    path = (page.parent / file_part).resolve() if file_part else page
    relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    if not path.exists():
      broken.append(f"{page.name}: {target} (no file {relative})")
    elif fragment and path.suffix == ".md" and fragment not in anchors(path):
      broken.append(f"{page.name}: {target} (no heading #{fragment} in {relative})")
  return broken


def markdown_pages() -> list[pathlib.Path]:
  return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_readme_is_short_and_keeps_its_commands():
  readme = (ROOT / "README.md").read_text(encoding="utf-8")
  assert len(readme.splitlines()) <= README_MAX_LINES
  assert "make run    #" in readme and "make test   #" in readme
  section = readme.split("## Use a trained run from Python\n", 1)[1].split("\n## ", 1)[0]
  assert USE_FROM_PYTHON in section


def test_anchor_follows_github():
  assert anchor("AdaX / AdaX-W") == "adax--adax-w"
  assert anchor("People's Daily") == "peoples-daily"
  assert anchor("BERT / UniLM, checkpoints and cached decoding") == (
      "bert--unilm-checkpoints-and-cached-decoding")


def test_every_relative_link_resolves():
  broken = [b for page in markdown_pages() for b in broken_links(page)]
  assert not broken, "\n".join(broken)


def test_broken_links_are_found(tmp_path):
  (tmp_path / "a.md").write_text("# Title\n\n[ok](a.md#title) [no](b.md) [gone](a.md#other)\n"
                                 "```\n[code](c.md)\n```\n[web](https://kexue.fm/archives/8373)\n")
  assert broken_links(tmp_path / "a.md", tmp_path) == ["a.md: b.md (no file b.md)",
                                             "a.md: a.md#other (no heading #other in a.md)"]


def test_docs_pages_named_in_code_exist():
  """Docstrings and comments that send the reader to docs/ name a page and heading that exist."""
  broken = []
  for name in tracked_text_files():
    if not name.endswith(".py"):
      continue
    text = (ROOT / name).read_text()
    for page, fragment in re.findall(r"\bdocs/([\w-]+\.md)(?:#([\w-]+))?", text):
      path = ROOT / "docs" / page
      if not path.exists():
        broken.append(f"{name}: docs/{page}")
      elif fragment and fragment not in anchors(path):
        broken.append(f"{name}: docs/{page}#{fragment}")
  assert not broken, "\n".join(broken)


def test_every_experiment_docstring_links_its_docs_page():
  for path in sorted((ROOT / "experiments").glob("[!_]*.py")):
    docstring = path.read_text(encoding="utf-8").split('"""')[1]
    assert re.search(r"\bdocs/[\w-]+\.md", docstring), path.name


def test_no_reference_to_files_outside_the_repository():
  found = offending_lines(OUTSIDE_FILES, tracked_text_files())
  assert not found, "cite the post, the paper or a docs/ page instead:\n" + "\n".join(found)


def test_no_wording_about_how_the_project_was_made():
  found = offending_lines(PROCESS_WORDING, tracked_text_files())
  assert not found, "\n".join(found)


@pytest.mark.parametrize("line, pattern, flagged", [
    (f"see {NOTE_NAMES[0]}.md §1.5", OUTSIDE_FILES, True),
    ("Published (ALGORITHMS §4.6)", OUTSIDE_FILES, True),
    (f"the notes in ../{NOTES_DIR}/", OUTSIDE_FILES, True),
    ("the §1.5 pseudo-code", OUTSIDE_FILES, True),
    ("blog 8373 (https://kexue.fm/archives/8373)", OUTSIDE_FILES, False),
    ("measured in session 12", PROCESS_WORDING, True),
    ("on an earlier host", PROCESS_WORDING, True),
    ("the last landed stop (23)", PROCESS_WORDING, True),
    ("read once per test session", PROCESS_WORDING, False),
    ("on a 2-core CPU, commit 7683ef1 (2026-12-03)", PROCESS_WORDING, False),
])
def test_patterns_flag_what_they_should(line, pattern, flagged):
  assert bool(pattern.search(line)) == flagged


def _figures_module():
  spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_figures_script_recreates_every_figure(tmp_path):
  figures = _figures_module()
  figures.main(["--out", str(tmp_path)])
  for name in figures.FIGURES:
    assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
  committed = {p.name for p in (ROOT / "docs" / "figures").glob("*.png")}
  assert committed == set(figures.FIGURES)
  for name in committed:
    assert (ROOT / "docs" / "figures" / name).stat().st_size <= PNG_MAX_BYTES, name


def test_every_measurement_row_names_its_command_and_commit():
  figures = _figures_module()
  for path in sorted((ROOT / "docs" / "data").glob("*.csv")):
    for row in figures.read_rows(path.stem):
      assert row["command"].startswith("python "), (path.name, row)
      assert re.fullmatch(r"[0-9a-f]{7,40}", row["commit"]), (path.name, row)
