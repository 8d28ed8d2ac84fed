"""GPLinker event decoding: clique search over argument nodes (kexue.fm/archives/8926), pure Python.

A node is `(event_type, role, h, t)` with an inclusive token span `(h, t)`; `links` is a set of
span pairs `(h1, t1, h2, t2)` (both orders stored), so nodes with identical spans share their link
status. `clique_search` is blog 8926's recursion; results are memoised per candidate list, which
returns exactly the literal recursion's output (the function is pure and the memo key is its
whole input) while visiting every distinct candidate list once, so shared sub-problems of dense
graphs with few missing links are not re-expanded (see benchmarks/cliques.py).

Bound: the recursion is exponential in the worst case — a type whose n nodes are all linked except
n/2 disjoint pairs has 2^(n/2) cliques (unbounded: ~10 s at n = 20 on a shared CPU, each 2 more
nodes doubling it), and an undertrained model can mark many nodes. `clique_search` therefore
charges every expanded candidate list its number of node pairs, m(m-1)/2, and raises
`CliqueSearchLimitError` before the total would exceed `max_pairs`. `decode_events` (default
`DEFAULT_MAX_PAIRS`, well above what dense 40-node graphs with a few missing links need) catches
it per event type, warns, and falls back to the polynomial `greedy_cliques`.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple
import warnings

import numpy as np

Node = Tuple[str, str, int, int]
Links = Set[Tuple[int, int, int, int]]


def neighbours(x: Node, nodes: Sequence[Node], links: Links) -> List[Node]:
  """`sorted([x] + [y in nodes : (span(x), span(y)) in links])` (blog 8926)."""
  return sorted([x] + [y for y in nodes if (x[2], x[3], y[2], y[3]) in links])


def _dedup(lists: Iterable[List[Node]]) -> List[List[Node]]:
  """First-appearance de-duplication, linear (hashing tuples instead of `list.__contains__`)."""
  seen: Set[Tuple[Node, ...]] = set()
  out = []
  for item in lists:
    key = tuple(item)
    if key not in seen:
      seen.add(key)
      out.append(item)
  return out


class CliqueSearchLimitError(ValueError):
  """`clique_search` would examine more than its `max_pairs` node pairs."""


DEFAULT_MAX_PAIRS = 2_000_000  # a few seconds of pure Python at most


def clique_search(nodes: Sequence[Node], links: Links,
                  max_pairs: Optional[int] = None) -> List[List[Node]]:
  """Cliques of `nodes` under span-pair `links`, exactly as blog 8926's pseudo-code.

  For every pair `(x, y)` (i < j in `nodes` order) whose spans are not linked, the candidate
  lists `neighbours(x)` and `neighbours(y)` are collected (first-appearance de-duplicated); with
  no candidates `nodes` is complete and `[sorted(nodes)]` is returned, otherwise the
  de-duplicated concatenation of the recursive results over the candidates. Memoised on the
  candidate list (module docstring). Returns sorted node lists, first-appearance order.

  Args:
    max_pairs: work bound — the total, over expanded (distinct) candidate lists of m nodes, of
      m(m-1)/2; None = unbounded. Raises `CliqueSearchLimitError` before exceeding it.
  """
  memo: Dict[Tuple[Node, ...], List[List[Node]]] = {}
  spent = 0

  def search(current: Tuple[Node, ...]) -> List[List[Node]]:
    nonlocal spent
    if current in memo:
      return memo[current]
    spent += len(current) * (len(current) - 1) // 2
    if max_pairs is not None and spent > max_pairs:
      raise CliqueSearchLimitError(
          f"clique search over {len(nodes)} nodes exceeds max_pairs={max_pairs}")
    # neighbours(x) depends on x and `current` only: computed once per node, same order.
    neighbour_lists: Dict[Node, Tuple[Node, ...]] = {}
    candidates: Dict[Tuple[Node, ...], None] = {}
    for i, x in enumerate(current):
      for y in current[i + 1:]:
        if (x[2], x[3], y[2], y[3]) not in links:
          for z in (x, y):
            if z not in neighbour_lists:
              neighbour_lists[z] = tuple(neighbours(z, current, links))
              candidates.setdefault(neighbour_lists[z])
    if not candidates:
      result = [sorted(current)]
    else:
      result = _dedup(c for cand in candidates for c in search(cand))
    memo[current] = result
    return result

  return search(tuple(nodes))


def greedy_cliques(nodes: Sequence[Node], links: Links) -> List[List[Node]]:
  """The bounded fallback of `decode_events`: for each node (in `nodes` order) not yet in a
  returned clique, the maximal clique grown from it by adding, in `nodes` order, every node linked
  to all members so far. Covers every node; each list is a maximal clique, sorted; O(n^2) link
  look-ups plus the growth. Not blog 8926's result (which may split differently)."""
  adjacent = {x: {y for y in nodes if y != x and (x[2], x[3], y[2], y[3]) in links}
              for x in nodes}
  covered: Set[Node] = set()
  result = []
  for seed in nodes:
    if seed in covered:
      continue
    clique, common = [seed], adjacent[seed]
    for y in nodes:
      if y in common:
        clique.append(y)
        common = common & adjacent[y]
    covered.update(clique)
    result.append(sorted(clique))
  return result


def decode_events(arguments: np.ndarray, head_links: np.ndarray, tail_links: np.ndarray,
                  labels: Sequence[Tuple[str, str]], length: int, trigger_role: str = "触发词",
                  threshold: float = 0.0, require_trigger: bool = True,
                  max_pairs: Optional[int] = DEFAULT_MAX_PAIRS) -> List[List[Node]]:
  """GPLinker event decoding of one sample (blog 8926, exact order of operations).

  Args:
    arguments: (C, N, N) scores, label c = `labels[c]` = (event_type, role); the trigger is the
      role `trigger_role`.
    head_links, tail_links: (N, N) link scores, read in the upper triangle `[min, max]`.
    labels: the C (event_type, role) pairs.
    length: real length L of the sample including [CLS] (0) and [SEP] (L-1), whose rows and
      columns are masked.
    threshold: a score counts when `> threshold`.
    require_trigger: drop events without a trigger node (prediction; False for the
      argument-level metric).
    max_pairs: `clique_search` bound per event type; past it that type falls back to
      `greedy_cliques` with a warning (module docstring). None = unbounded.

  Returns:
    events: sorted node lists `(event_type, role, h, t)` (token spans), in clique-search order
    per event type (types in first-appearance order of their nodes).
  """
  c, h, t = np.nonzero(arguments[:, 1:length - 1, 1:length - 1] > threshold)
  nodes = [(labels[ci][0], labels[ci][1], int(hi) + 1, int(ti) + 1) for ci, hi, ti in zip(c, h, t)]
  links: Links = set()
  for i, (_, _, h1, t1) in enumerate(nodes):
    for _, _, h2, t2 in nodes[i + 1:]:
      if (head_links[min(h1, h2), max(h1, h2)] > threshold
          and tail_links[min(t1, t2), max(t1, t2)] > threshold):
        links.add((h1, t1, h2, t2))
        links.add((h2, t2, h1, t1))
  by_type: Dict[str, List[Node]] = {}
  for node in nodes:
    by_type.setdefault(node[0], []).append(node)
  events = []
  for event_type, typed_nodes in by_type.items():
    try:
      events += clique_search(typed_nodes, links, max_pairs)
    except CliqueSearchLimitError as e:
      warnings.warn(f"{e}; event type {event_type!r} decoded by greedy_cliques instead")
      events += greedy_cliques(typed_nodes, links)
  if require_trigger:
    events = [e for e in events if any(n[1] == trigger_role for n in e)]
  return events


def drop_subset_events(events: Sequence[Tuple[str, Sequence]]) -> List[Tuple[str, list]]:
  """GPLinker `predict_to_file` de-duplication of `(event_type, arguments)` events, in order: an
  event whose arguments are a subset of an already kept event of the same type is skipped, and
  kept events of the same type whose arguments are a subset of the new one are removed."""
  kept: List[Tuple[str, list]] = []
  for event_type, arguments in events:
    args = list(arguments)
    if any(k_type == event_type and all(a in k_args for a in args) for k_type, k_args in kept):
      continue
    kept = [(k_type, k_args) for k_type, k_args in kept
            if not (k_type == event_type and all(a in args for a in k_args))]
    kept.append((event_type, args))
  return kept
