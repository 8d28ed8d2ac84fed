"""DuIE readers (relation extraction): DuIE 1.0 (LIC2019) and DuIE 2.0 JSON-lines files + schemas.

Record format (one JSON object per line): `text` and `spo_list`, a list of
`{"subject": str, "predicate": str, "object": str | dict, ...}` (extra keys such as
`subject_type`, `object_type`, `postag` are ignored). DuIE 2.0 "complex" objects are dicts
`{"@value": str, "<key>": str, ...}`; they are flattened the way GPLinker's DuIE 2.0 handling
does: `(s, p, o["@value"])` plus one triple `(s, p + "_" + key, o[key])` per extra key (e.g.
`饰演_inWork`). A line without `spo_list` (a test file) reads as an empty list.

Schemas: DuIE 1.0 `all_50_schemas` and DuIE 2.0 `duie_schema.json` are JSON lines with a
`predicate` field; 2.0's `object_type` dict adds `predicate_key` predicates for its non-`@value`
keys. Predicates are returned sorted in file order, de-duplicated.
"""
import dataclasses
import os
from typing import List, Tuple, Union

from flaxnlp.data.formats import lines
from flaxnlp.data.formats.errors import DataFormatError

PathLike = Union[str, os.PathLike]
Triple = Tuple[str, str, str]


@dataclasses.dataclass(frozen=True)
class RelationExample:
  """One sentence: `text` and its gold `(subject, predicate, object)` triples (file order)."""
  text: str
  triples: Tuple[Triple, ...]


def _flatten_spo(spo, path, line_no) -> List[Triple]:
  if not isinstance(spo, dict) or not {"subject", "predicate", "object"} <= spo.keys():
    raise DataFormatError(path, line_no, f"spo item needs subject/predicate/object: {spo!r}")
  s, p, o = spo["subject"], spo["predicate"], spo["object"]
  if isinstance(o, str):
    return [(s, p, o)]
  if not isinstance(o, dict) or "@value" not in o:
    raise DataFormatError(path, line_no, f"object is neither a string nor has '@value': {o!r}")
  triples = [(s, p, o["@value"])]
  triples += [(s, f"{p}_{k}", v) for k, v in o.items() if k != "@value"]
  return triples


def read_duie(path: PathLike) -> List[RelationExample]:
  """Reads a DuIE 1.0 / 2.0 JSON-lines file into `RelationExample`s (see module docstring).

  Raises:
    DataFormatError: `path:line` of invalid JSON, a missing `text`, or a malformed spo item.
  """
  examples = []
  for line_no, record in lines.text_records(path):
    spo_list = record.get("spo_list", [])
    if not isinstance(spo_list, list):
      raise DataFormatError(path, line_no, "'spo_list' must be a list")
    triples = [t for spo in spo_list for t in _flatten_spo(spo, path, line_no)]
    examples.append(RelationExample(record["text"], tuple(triples)))
  return examples


def read_duie_schema(path: PathLike) -> List[str]:
  """Predicates of a DuIE schema file (1.0 `all_50_schemas` or 2.0 `duie_schema.json`).

  Returns: predicate names in first-appearance order; 2.0 complex predicates also yield
  `predicate_key` for each `object_type` key other than `@value`.
  """
  predicates = []
  for line_no, record in lines.json_objects(path):
    if "predicate" not in record:
      raise DataFormatError(path, line_no, "schema line needs 'predicate'")
    names = [record["predicate"]]
    object_type = record.get("object_type")
    if isinstance(object_type, dict):
      names += [f"{record['predicate']}_{k}" for k in object_type if k != "@value"]
    predicates += [n for n in names if n not in predicates]
  return predicates
