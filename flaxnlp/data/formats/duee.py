"""DuEE readers (event extraction): DuEE 1.0 and DuEE-fin JSON-lines files + event schemas.

DuEE 1.0 record: `text`, optional `event_list[{event_type, trigger, trigger_start_index,
arguments[{role, argument, argument_start_index}]}]` (character offsets into `text`).

DuEE-fin record: `title`, `text`, optional `event_list[{event_type, trigger, arguments[{role,
argument}]}]` without offsets. The text is `title + "\\n" + text` with every whitespace run
collapsed to one space (so the joiner becomes a space); every position is the FIRST occurrence
(`str.find`) of the (equally normalised) string, as GPLinker's `text.index`. An argument of an
enumerated role (schema `enum_items`) is a value such as 筹备上市, a category rather than a mention:
with the schema passed to `read_duee_fin` its `start` is always -1, even when the string happens
to occur in the text (without it, the first occurrence as for any string), and it is labelled on
the trigger span (`flaxnlp.tasks.gplinker_labels`). A non-enum string that does not occur also
gets start -1 and is dropped by the label encoder.

Schema (`event_schema.json`, both datasets): lines `{event_type, role_list[{role, enum_items?}]}`.
"""
import dataclasses
import os
import re
from typing import Dict, List, Optional, Tuple, Union

from flaxnlp.data.formats import lines
from flaxnlp.data.formats.errors import DataFormatError

PathLike = Union[str, os.PathLike]
TRIGGER_ROLE = "触发词"


@dataclasses.dataclass(frozen=True)
class Argument:
  """An argument mention: role name, surface string, character start (-1: enum / not found)."""
  role: str
  text: str
  start: int


@dataclasses.dataclass(frozen=True)
class Event:
  """One event: type, trigger mention (an `Argument` with role `TRIGGER_ROLE`) and arguments."""
  event_type: str
  trigger: Argument
  arguments: Tuple[Argument, ...]


@dataclasses.dataclass(frozen=True)
class EventExample:
  """One document: `text` and its gold `events` (empty for test files)."""
  text: str
  events: Tuple[Event, ...]


@dataclasses.dataclass(frozen=True)
class EventSchema:
  """Event types (file order), their roles (file order), and enum values per (type, role)."""
  roles: Dict[str, Tuple[str, ...]]
  enum_values: Dict[Tuple[str, str], Tuple[str, ...]]


def _field(record, key, kind, path, line_no):
  value = record.get(key)
  if not isinstance(value, kind):
    raise DataFormatError(path, line_no, f"missing or ill-typed field {key!r}: {value!r}")
  return value


def read_event_schema(path: PathLike) -> EventSchema:
  """Reads `event_schema.json` (DuEE 1.0 or DuEE-fin); see `EventSchema`."""
  roles, enum_values = {}, {}
  for line_no, record in lines.json_objects(path):
    event_type = _field(record, "event_type", str, path, line_no)
    role_names = []
    for item in _field(record, "role_list", list, path, line_no):
      role = _field(item, "role", str, path, line_no)
      role_names.append(role)
      if item.get("enum_items"):
        enum_values[(event_type, role)] = tuple(item["enum_items"])
    roles[event_type] = tuple(role_names)
  return EventSchema(roles, enum_values)


def _event(raw, text, path, line_no, find: bool, enum_roles) -> Event:
  """One `event_list` item; `find`: positions by first occurrence (DuEE-fin); arguments of the
  (event_type, role) pairs in `enum_roles` get start -1."""
  def start_of(item, string, key):
    if find:
      return text.find(string)
    start = _field(item, key, int, path, line_no)
    if text[start:start + len(string)] != string:
      raise DataFormatError(path, line_no, f"{string!r} is not at {key}={start}")
    return start

  event_type = _field(raw, "event_type", str, path, line_no)
  trigger = _normalise(_field(raw, "trigger", str, path, line_no)) if find else raw.get("trigger")
  if not isinstance(trigger, str):
    raise DataFormatError(path, line_no, "missing or ill-typed field 'trigger'")
  arguments = []
  for item in _field(raw, "arguments", list, path, line_no):
    role = _field(item, "role", str, path, line_no)
    string = _field(item, "argument", str, path, line_no)
    string = _normalise(string) if find else string
    enum = (event_type, role) in enum_roles
    arguments.append(Argument(role, string,
                              -1 if enum else start_of(item, string, "argument_start_index")))
  trigger_arg = Argument(TRIGGER_ROLE, trigger, start_of(raw, trigger, "trigger_start_index"))
  return Event(event_type, trigger_arg, tuple(arguments))


def _normalise(text: str) -> str:
  return re.sub(r"\s+", " ", text)


def duee_fin_text(title: Optional[str], text: str) -> str:
  """The DuEE-fin document text: `title + "\\n" + text` (text alone without a title), every
  whitespace run collapsed to one space."""
  return _normalise(text if title is None else f"{title}\n{text}")


def _read(path: PathLike, fin: bool, enum_roles=()) -> List[EventExample]:
  examples = []
  for line_no, record in lines.json_objects(path):
    text = _field(record, "text", str, path, line_no)
    if fin:
      text = duee_fin_text(record.get("title"), text)
    events = tuple(_event(raw, text, path, line_no, find=fin, enum_roles=enum_roles)
                   for raw in _field({"e": record.get("event_list", [])}, "e", list, path, line_no))
    examples.append(EventExample(text, events))
  return examples


def read_duee(path: PathLike) -> List[EventExample]:
  """Reads a DuEE 1.0 file. Raises `DataFormatError` (`path:line`) on malformed records,
  including an offset that does not point at its string."""
  return _read(path, fin=False)


def read_duee_fin(path: PathLike, schema: Optional[EventSchema] = None) -> List[EventExample]:
  """Reads a DuEE-fin file (title + text, first-occurrence positions; module docstring). With
  `schema`, arguments of its enumerated roles get start -1."""
  return _read(path, fin=True, enum_roles=set(schema.enum_values) if schema else ())
