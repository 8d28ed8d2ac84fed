"""GPLinker sparse labels (blogs 8888, 8926): token-span sets -> padded index arrays.

A pair (h, t) of head H is the index `h·N + t` into the head's flattened (N, N) logits (N = padded
batch length); each head's set is padded with 0 to K entries and an empty set is the dummy `{0}` —
index 0 is `[CLS]`×`[CLS]`, ignored by the loss with `mask_zero=True`. Labels are built per batch,
never densely and never for a whole dataset.

K is the smallest multiple of N that holds the largest set of the batch (in practice K = N), so
the label shapes follow the length bucket: a handful of compiled shapes serve the whole dataset,
and every process of a multi-host run builds the same shapes. (K = the batch maximum would change
the shapes, and recompile the train step, at nearly every batch.)
"""
from typing import Dict, List, Sequence, Set, Tuple

import numpy as np

from flaxnlp import losses
from flaxnlp.data.spans import char_span_to_token_span, token_span_to_char_span
from flaxnlp.decoding.cliques import decode_events
from flaxnlp.decoding.relations import decode_relations
from flaxnlp.metrics.extraction import event_f1, relation_f1

Span = Tuple[int, int]


def label_capacity(largest_set: int, n: int) -> int:
  """K: the smallest positive multiple of the padded length n that holds `largest_set` pairs."""
  return n * max(1, -(-largest_set // n))


def pack_pair_labels(batch: Sequence[Sequence[Set[Span]]], n: int) -> np.ndarray:
  """(B, H, K) int32 indices `h·n + t` of B samples × H heads of pair sets, 0-padded (dummy 0);
  K = `label_capacity` of the largest set."""
  k = label_capacity(max([0] + [len(s) for sample in batch for s in sample]), n)
  out = np.zeros((len(batch), len(batch[0]) if batch else 0, k), np.int32)
  for b, sample in enumerate(batch):
    for head, pairs in enumerate(sample):
      idx = sorted(h * n + t for h, t in pairs)
      out[b, head, :len(idx)] = idx
  return out


def pack_head_labels(sets, keys: Sequence[str], n: int) -> Dict[str, np.ndarray]:
  """Packs per-example label sets of several heads into `{key: [B, H, K] int32}` for length n.

  `sets[b][i]` is example b's list of per-head pair sets for the head named `keys[i]`.
  """
  return {key: pack_pair_labels([s[i] for s in sets], n) for i, key in enumerate(keys)}


def gplinker_loss(logits, batch, keys: Sequence[str]):
  """GPLinker's loss: sparse ZLPR (mask_zero) per head, summed over heads, mean over the batch,
  summed over the heads named `keys` (logits[i] is [B, H_i, N, N] for `batch[keys[i]]`)."""
  return sum(losses.global_pointer_crossentropy(l, batch[k], sparse=True, reduction="sum_heads")
             for l, k in zip(logits, keys))


def relation_pair_sets(quintuples: Sequence[Tuple[Span, int, Span]], num_predicates: int):
  """Sets of one sample: entity [subjects, objects], head[p] {(s_h, o_h)}, tail[p] {(s_t, o_t)}.

  Args:
    quintuples: `((s_h, s_t), p, (o_h, o_t))` token spans (aligned; misaligned already dropped).
  Returns:
    `(entity, head, tail)`: lists of 2, P, P sets of token pairs.
  """
  entity = [set(), set()]
  head = [set() for _ in range(num_predicates)]
  tail = [set() for _ in range(num_predicates)]
  for (sh, st), p, (oh, ot) in quintuples:
    entity[0].add((sh, st))
    entity[1].add((oh, ot))
    head[p].add((sh, oh))
    tail[p].add((st, ot))
  return entity, head, tail


def event_pair_sets(events: Sequence[Sequence[Tuple[int, int, int]]], num_labels: int):
  """Sets of one sample from events of nodes `(label, h, t)` (trigger included as a label).

  Returns:
    `(arguments, head_link, tail_link)`: C sets of spans per label, and one set each of
    `(min(h1, h2), max(h1, h2))` / `(min(t1, t2), max(t1, t2))` over every pair of distinct nodes
    (by position in the event) of the same event.
  """
  arguments = [set() for _ in range(num_labels)]
  head_link, tail_link = set(), set()
  for event in events:
    for i, (label, h1, t1) in enumerate(event):
      arguments[label].add((h1, t1))
      for _, h2, t2 in event[i + 1:]:
        head_link.add((min(h1, h2), max(h1, h2)))
        tail_link.add((min(t1, t2), max(t1, t2)))
  return arguments, [head_link], [tail_link]


def event_label_index(roles: Dict[str, Sequence[str]], enum_values: Dict[Tuple[str, str], Sequence[str]],
                      trigger_role: str = "触发词") -> List[Tuple[str, str]]:
  """The C (event_type, role) labels: per type, the trigger role then each role, where an enum
  role is replaced by one label (event_type, value) per enum value (DuEE-fin, blog 8926)."""
  labels = []
  for event_type, role_names in roles.items():
    labels.append((event_type, trigger_role))
    for role in role_names:
      values = enum_values.get((event_type, role))
      labels += [(event_type, v) for v in values] if values else [(event_type, role)]
  return labels


def encode_event_example(example, tokenizer, labels: Sequence[Tuple[str, str]],
                         enum_values: Dict[Tuple[str, str], Sequence[str]], maxlen: int,
                         trigger_role: str = "触发词"):
  """Token-level nodes of one `flaxnlp.data.formats.duee.EventExample`.

  Each event becomes nodes `(label, h, t)`: the trigger, each argument, and an enum argument
  (start -1, role with enum values) as label (type, value) on the trigger span. Spans that do
  not align to token boundaries or are cut by `maxlen` are dropped (counted in `dropped`).

  Returns:
    `(encoding, events, dropped)`: `events` lists of nodes per gold event (same order);
    `dropped` a dict `{"truncated": k, "misaligned": k, "unknown_label": k}` (unknown_label:
    a (type, role) not in `labels`, or a non-enum string not found in the text).
  """
  encoding = tokenizer.encode(example.text, maxlen=maxlen)
  label_id = {label: i for i, label in enumerate(labels)}
  last_char = max(end for _, end in encoding.offsets)
  dropped = {"truncated": 0, "misaligned": 0, "unknown_label": 0}
  events = []
  for event in example.events:
    nodes = []
    for arg in (event.trigger,) + tuple(event.arguments):
      enum = arg.start < 0 and arg.text in enum_values.get((event.event_type, arg.role), ())
      label = (event.event_type, arg.text if enum else arg.role)
      span_arg = event.trigger if enum else arg
      if label not in label_id or span_arg.start < 0:
        dropped["unknown_label"] += 1
        continue
      end = span_arg.start + len(span_arg.text) - 1
      span = char_span_to_token_span(encoding.offsets, span_arg.start, end)
      if span is None:
        dropped["truncated" if end >= last_char else "misaligned"] += 1
        continue
      nodes.append((label_id[label], span[0], span[1]))
    events.append(nodes)
  return encoding, events, dropped


def _perfect_scores(sets, n):
  scores = -np.ones((len(sets), n, n), np.float32)
  for k, pairs in enumerate(sets):
    for i, j in pairs:
      scores[k, i, j] = 1.0
  return scores


def event_upper_bound(examples, tokenizer, labels: Sequence[Tuple[str, str]], maxlen: int = 128,
                      trigger_role: str = "触发词"):
  """Best score GPLinker's EE encoding can reach: gold -> labels -> perfect logits (+1 on labels,
  -1 elsewhere) -> `decode_events` -> bojone's `event_f1` against the untouched gold.

  Returns:
    `(metrics, breakdown)`: `event_f1` output and counts of node drops (truncated, misaligned,
    unknown_label) and of lost gold events by cause: `lost_dropped_node` (a node was dropped),
    `lost_duplicate_node` (the gold event repeats a node, which a set cannot), `lost_merged`
    (all nodes kept, but a decoded event strictly contains it: same-type events sharing nodes
    merged by the clique search), `lost_split_other`; and `spurious_events`.
  """
  breakdown = {"truncated": 0, "misaligned": 0, "unknown_label": 0, "lost_dropped_node": 0,
               "lost_duplicate_node": 0, "lost_merged": 0, "lost_split_other": 0,
               "spurious_events": 0}
  preds, golds = [], []
  for example in examples:
    encoding, events, dropped = encode_event_example(example, tokenizer, labels, {}, maxlen, trigger_role)
    for k, v in dropped.items():
      breakdown[k] += v
    n = len(encoding.ids)
    args, head_link, tail_link = event_pair_sets(events, len(labels))
    decoded = decode_events(_perfect_scores(args, n), _perfect_scores(head_link, n)[0],
                            _perfect_scores(tail_link, n)[0], labels, n, trigger_role,
                            require_trigger=False)
    def to_char(node):
      start, end = token_span_to_char_span(encoding.offsets, node[2], node[3])
      return (node[0], node[1], example.text[start:end + 1], start)
    pred = [[to_char(x) for x in e] for e in decoded]
    gold = [[(e.event_type, a.role, a.text, a.start) for a in (e.trigger,) + tuple(e.arguments)]
            for e in example.events]
    preds.append(pred)
    golds.append(gold)
    with_trigger = [sorted(e) for e in pred if any(x[1] == trigger_role for x in e)]
    gold_sorted = [sorted(g) for g in gold]
    for g, nodes in zip(gold_sorted, events):
      if g in with_trigger:
        continue
      if len(nodes) < len(g):
        breakdown["lost_dropped_node"] += 1
      elif len(set(g)) < len(g):
        breakdown["lost_duplicate_node"] += 1
      elif any(set(g) < set(p) for p in with_trigger):
        breakdown["lost_merged"] += 1
      else:
        breakdown["lost_split_other"] += 1
    breakdown["spurious_events"] += sum(p not in gold_sorted for p in with_trigger)
  return event_f1(preds, golds, trigger_role), breakdown


def relation_upper_bound(examples, tokenizer, predicates: Sequence[str], maxlen: int = 128):
  """Best score GPLinker's RE encoding can reach on `flaxnlp.data.formats.duie.RelationExample`s:
  gold (first occurrence of each string, as GPLinker) -> labels -> perfect logits ->
  `decode_relations` -> `relation_f1` on tokenised strings (bojone's SPO comparison).

  Returns:
    `(metrics, breakdown)` with counts of gold triples dropped as `not_found` (string absent or
    unknown predicate), `truncated`, `misaligned`, and `spurious` decoded triples (the
    subject × object × predicate product combining links of different gold triples).
  """
  p_id = {p: i for i, p in enumerate(predicates)}
  breakdown = {"not_found": 0, "truncated": 0, "misaligned": 0, "spurious": 0}
  preds, golds = [], []
  for ex in examples:
    encoding = tokenizer.encode(ex.text, maxlen=maxlen)
    last_char = max(end for _, end in encoding.offsets)
    quints = []
    for s, p, o in ex.triples:
      spans = []
      for string in (s, o):
        start = ex.text.find(string) if string else -1
        end = start + len(string) - 1
        span = None if start < 0 else char_span_to_token_span(encoding.offsets, start, end)
        if start < 0 or p not in p_id:
          spans.append("not_found")
        elif span is None:
          spans.append("truncated" if end >= last_char else "misaligned")
        else:
          spans.append(span)
      problems = [x for x in spans if isinstance(x, str)]
      if problems:
        breakdown[problems[0]] += 1
      else:
        quints.append((spans[0], p_id[p], spans[1]))
    n = len(encoding.ids)
    entity, head, tail = relation_pair_sets(quints, len(predicates))
    decoded = decode_relations(_perfect_scores(entity, n), _perfect_scores(head, n),
                               _perfect_scores(tail, n), n)
    def text_of(span):
      start, end = token_span_to_char_span(encoding.offsets, *span)
      return ex.text[start:end + 1]
    pred = {(text_of(sj), predicates[p], text_of(oj)) for sj, p, oj in decoded}
    breakdown["spurious"] += len(set(decoded) - set(quints))
    preds.append(pred)
    golds.append(set(ex.triples))
  normalise = lambda s: tuple(tokenizer.tokenize(s))
  return relation_f1(preds, golds, normalise), breakdown
