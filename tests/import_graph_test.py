"""The package's import graph, read with `ast` from the sources under flaxnlp/.

The modules form layers, each importing only from the layers below it or from its own:

  errors, paths < configs < data < layers < models < decoding < losses, regularizers
  < optim < metrics < tasks < train < diagnostics, api

(a layer is the first name under `flaxnlp.`: a subpackage or a top-level module). Every import of
a flaxnlp module stands at the top of its file; the one import inside a function is allow-listed
below with its reason. The checker itself is tested on a hand-made package.
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "flaxnlp"

LAYERS = (
    ("errors", "paths"),
    ("configs", "workdir_config"),
    ("data",),
    ("layers",),
    ("models",),
    ("decoding",),
    ("losses", "regularizers", "gradient_inequality"),
    ("optim",),
    ("metrics",),
    ("tasks",),
    ("train",),
    ("diagnostics", "api", "sweep", "sweep_report"),
)

# (importing module, imported module): why the import waits for the function that needs it.
LOCAL_IMPORTS = {
    ("flaxnlp.train.trainer", "flaxnlp.data.builders"):
        "tensorflow_datasets takes seconds to import and only `train.tfds_data_dir` runs use it",
    ("flaxnlp.sweep", "flaxnlp.train"):
        "experiment files import the sweep helpers, and `--print-commands` / `--table` need no JAX",
}


def module_name(path: pathlib.Path, package: pathlib.Path) -> str:
  """"flaxnlp.a.b" of the file `package`/a/b.py (`package`/a/__init__.py: "flaxnlp.a")."""
  parts = path.relative_to(package.parent).with_suffix("").parts
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: pathlib.Path, package: pathlib.Path):
  """(imported flaxnlp module, line, at top level?) of every import in `path`.

  `from flaxnlp.x import y` counts as an import of `flaxnlp.x.y` when y is a module, else of
  `flaxnlp.x`; relative imports are resolved against `path`'s package.
  """
  tree = ast.parse(path.read_text(encoding="utf-8"))
  top = {id(node) for node in tree.body}
  here = module_name(path, package).split(".")
  if path.name != "__init__.py":
    here = here[:-1]
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
      names = []
      for alias in node.names:
        sub = f"{base}.{alias.name}"
        is_module = (package.parent / sub.replace(".", "/")).with_suffix(".py").is_file() or (
            package.parent / sub.replace(".", "/") / "__init__.py").is_file()
        names.append(sub if is_module else base)
    else:
      continue
    for name in names:
      if name == package.name or name.startswith(package.name + "."):
        yield name, node.lineno, id(node) in top


def layer_of(module: str, layers) -> int:
  """Index in `layers` of the first name under the package in `module` (KeyError if none)."""
  first = module.split(".")[1]
  for index, names in enumerate(layers):
    if first in names:
      return index
  raise KeyError(f"{module}: {first!r} is in no layer; add it to LAYERS")


def violations(package: pathlib.Path, layers, local_imports) -> list[str]:
  """Every upward import (into a higher layer) and every function-local import of a package
  module not in `local_imports`, as "file:line: what" strings."""
  found = []
  for path in sorted(package.rglob("*.py")):
    importer = module_name(path, package)
    if importer == package.name:
      continue  # the package's __init__ imports nothing of its own
    where = path.relative_to(package.parent)
    for imported, line, at_top in imports(path, package):
      if imported == package.name:
        found.append(f"{where}:{line}: imports the package root")
        continue
      if layer_of(imported, layers) > layer_of(importer, layers):
        found.append(f"{where}:{line}: {importer} imports {imported} from a higher layer")
      if not at_top and (importer, imported) not in local_imports:
        found.append(f"{where}:{line}: imports {imported} inside a function")
  return found


def test_no_upward_and_no_function_local_import():
  assert violations(PACKAGE, LAYERS, LOCAL_IMPORTS) == []


def test_every_allow_listed_local_import_still_exists():
  local = set()
  for path in PACKAGE.rglob("*.py"):
    local |= {(module_name(path, PACKAGE), name)
              for name, _, at_top in imports(path, PACKAGE) if not at_top}
  assert set(LOCAL_IMPORTS) <= local


def test_every_module_has_a_layer():
  for path in PACKAGE.rglob("*.py"):
    name = module_name(path, PACKAGE)
    if name != "flaxnlp":
      layer_of(name, LAYERS)


def _write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
  for name, text in files.items():
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
  return root / "flaxnlp"


def test_the_checker_finds_upward_and_local_imports(tmp_path):
  package = _write(tmp_path, {
      "flaxnlp/__init__.py": "",
      "flaxnlp/low/__init__.py": "from flaxnlp.low.a import f\n",
      "flaxnlp/low/a.py": "from flaxnlp.high import b\n\ndef f():\n  import flaxnlp.low.c\n",
      "flaxnlp/low/c.py": "from . import a\n",
      "flaxnlp/high/__init__.py": "",
      "flaxnlp/high/b.py": ("from flaxnlp.low import a, f\nfrom ..low import c\n\n"
                            "def g():\n  from flaxnlp.low import c\n"),
  })
  layers = (("low",), ("high",))
  assert violations(package, layers, {}) == [
      "flaxnlp/high/b.py:5: imports flaxnlp.low.c inside a function",
      "flaxnlp/low/a.py:1: flaxnlp.low.a imports flaxnlp.high.b from a higher layer",
      "flaxnlp/low/a.py:4: imports flaxnlp.low.c inside a function",
  ]
  assert violations(package, layers, {("flaxnlp.high.b", "flaxnlp.low.c"): "reason",
                                       ("flaxnlp.low.a", "flaxnlp.low.c"): "reason"}) == [
      "flaxnlp/low/a.py:1: flaxnlp.low.a imports flaxnlp.high.b from a higher layer"]
  with pytest.raises(KeyError, match="'mid' is in no layer"):
    layer_of("flaxnlp.mid.x", layers)
