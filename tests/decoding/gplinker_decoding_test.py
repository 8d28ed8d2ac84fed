"""GPLinker labels, decoders and metrics: hand-worked examples + a literal clique-search reference."""
import itertools
import random

import numpy as np
import pytest

from flaxnlp.decoding import cliques, relations
from flaxnlp.tasks import gplinker_labels as gl


def literal_clique_search(argus, links):
  """Blog 8926's pseudo-code written out literally (no memo), the reference for `clique_search`."""
  def nbrs(x, a):
    return sorted([x] + [y for y in a if (x[2], x[3], y[2], y[3]) in links])
  cand = []
  for i, x in enumerate(argus):
    for j, y in enumerate(argus):
      if j > i and (x[2], x[3], y[2], y[3]) not in links:
        for c in (nbrs(x, argus), nbrs(y, argus)):
          if c not in cand:
            cand.append(c)
  if not cand:
    return [sorted(argus)]
  out = []
  for c in cand:
    for r in literal_clique_search(c, links):
      if r not in out:
        out.append(r)
  return out


def test_clique_search_matches_literal_on_random_graphs():
  rng = random.Random(0)
  for trial in range(60):
    n = rng.randint(1, 9)
    nodes = [("T", f"r{i % 3}", i, i + rng.randint(0, 1)) for i in range(n)]
    links = set()
    for x, y in itertools.combinations(nodes, 2):
      if rng.random() < 0.7:
        links |= {(x[2], x[3], y[2], y[3]), (y[2], y[3], x[2], x[3])}
    assert cliques.clique_search(nodes, links) == literal_clique_search(nodes, links), trial


def test_clique_search_hand_worked():
  a, b, c, d = [("T", "r", i, i) for i in range(4)]
  span_links = lambda pairs: {q for x, y in pairs for q in ((x[2], x[3], y[2], y[3]), (y[2], y[3], x[2], x[3]))}
  # a-b-c triangle plus c-d: maximal cliques {a,b,c} and {c,d}.
  result = cliques.clique_search([a, b, c, d], span_links([(a, b), (a, c), (b, c), (c, d)]))
  assert sorted(result) == [[a, b, c], [c, d]]
  assert cliques.clique_search([a], set()) == [[a]]


def _pairs_to_scores(sets, n):
  scores = -np.ones((len(sets), n, n))
  for k, pairs in enumerate(sets):
    for i, j in pairs:
      scores[k, i, j] = 1.0
  return scores


def test_event_round_trip_shared_trigger():
  # "程杰、王绍伟…有期徒刑22年和20年": two 入狱 events sharing the trigger; token spans by hand.
  labels = [("入狱", "触发词"), ("入狱", "入狱者"), ("入狱", "刑期")]
  trig, p1, p2, y1, y2 = (0, 5, 6), (1, 1, 1), (1, 2, 2), (2, 7, 7), (2, 8, 8)
  events = [[trig, p1, y1], [trig, p2, y2]]
  args, hl, tl = gl.event_pair_sets(events, 3)
  assert args == [{(5, 6)}, {(1, 1), (2, 2)}, {(7, 7), (8, 8)}]
  assert hl[0] == {(1, 5), (5, 7), (1, 7), (2, 5), (5, 8), (2, 8)}
  assert tl[0] == {(1, 6), (6, 7), (1, 7), (2, 6), (6, 8), (2, 8)}
  n = 10
  decoded = cliques.decode_events(_pairs_to_scores(args, n), _pairs_to_scores(hl, n)[0],
                                  _pairs_to_scores(tl, n)[0], labels, length=n)
  node = lambda x: (labels[x[0]][0], labels[x[0]][1], x[1], x[2])
  assert sorted(decoded) == sorted(sorted(node(x) for x in e) for e in events)
  # Rows/cols of [CLS] (0) and [SEP] (L-1) are masked; without a trigger an event is dropped.
  no_trig = cliques.decode_events(_pairs_to_scores([set(), {(1, 1)}, {(9, 9)}], n),
                                  np.ones((n, n)), np.ones((n, n)), labels, length=n)
  assert no_trig == []
  assert cliques.decode_events(_pairs_to_scores([set(), {(1, 1)}, set()], n), np.ones((n, n)),
                               np.ones((n, n)), labels, length=n, require_trigger=False) == [
                                   [("入狱", "入狱者", 1, 1)]]


def test_relation_round_trip_and_masking():
  quints = [((1, 2), 1, (4, 4)), ((1, 2), 0, (6, 7)), ((4, 4), 1, (6, 7))]
  entity, head, tail = gl.relation_pair_sets(quints, 2)
  assert entity == [{(1, 2), (4, 4)}, {(4, 4), (6, 7)}]
  assert head == [{(1, 6)}, {(1, 4), (4, 6)}] and tail == [{(2, 7)}, {(2, 4), (4, 7)}]
  n = 9
  got = relations.decode_relations(_pairs_to_scores(entity, n), _pairs_to_scores(head, n),
                                   _pairs_to_scores(tail, n), length=n)
  # Subjects x objects x predicates yields no spurious triple here (e.g. (1,2)-p1-(6,7): head miss).
  assert sorted(got) == sorted(quints)
  ent = _pairs_to_scores(entity, n)
  ent[:, 0, 0] = ent[:, 8, 8] = 1.0  # [CLS]/[SEP] cells are masked
  assert sorted(relations.decode_relations(ent, _pairs_to_scores(head, n), _pairs_to_scores(tail, n), n)) == sorted(quints)


def test_pack_pair_labels():
  packed = gl.pack_pair_labels([[{(1, 2)}, set()], [{(2, 3), (0, 1)}, {(1, 1)}]], n=5)
  np.testing.assert_array_equal(packed, [[[7, 0, 0, 0, 0], [0] * 5], [[1, 13, 0, 0, 0], [6, 0, 0, 0, 0]]])
  assert packed.dtype == np.int32
  # K follows the padded length, not the batch's largest set, so shapes repeat across batches ...
  assert gl.pack_pair_labels([[set()]], n=5).shape == (1, 1, 5)
  # ... and grows by whole multiples of it only when a set is larger than n.
  big = {(h, t) for h in range(3) for t in range(3)}
  assert gl.pack_pair_labels([[big]], n=3).shape == (1, 1, 9)
  assert gl.pack_pair_labels([[big | {(0, 0)}]], n=4).shape == (1, 1, 12)


def test_event_label_index_enum():
  labels = gl.event_label_index({"上市": ("公司", "环节")}, {("上市", "环节"): ("筹备", "正式")})
  assert labels == [("上市", "触发词"), ("上市", "公司"), ("上市", "筹备"), ("上市", "正式")]


def test_drop_subset_events():
  got = cliques.drop_subset_events([("A", [1, 2]), ("A", [1]), ("B", [1]), ("A", [1, 2, 3])])
  assert got == [("B", [1]), ("A", [1, 2, 3])]


def _cocktail_party(k):
  """2k nodes, all linked except the k pairs (2i, 2i+1): 2^k cliques, the exponential case."""
  nodes = [("T", "r", i, i) for i in range(2 * k)]
  links = {(x[2], x[3], y[2], y[3]) for x in nodes for y in nodes
           if x != y and x[2] // 2 != y[2] // 2}
  return nodes, links


def test_clique_search_bound():
  nodes, links = _cocktail_party(4)
  assert len(cliques.clique_search(nodes, links)) == 16
  with pytest.raises(cliques.CliqueSearchLimitError, match="8 nodes exceeds max_pairs=100"):
    cliques.clique_search(nodes, links, max_pairs=100)
  # n = 40 (2^20 cliques) stops at the default bound instead of running for hours ...
  nodes, links = _cocktail_party(20)
  with pytest.raises(cliques.CliqueSearchLimitError):
    cliques.clique_search(nodes, links, cliques.DEFAULT_MAX_PAIRS)
  # ... while a dense 30-node graph with two missing links stays exact under it.
  nodes = [("T", "r", i, i) for i in range(30)]
  links = {(x[2], x[3], y[2], y[3]) for x in nodes for y in nodes
           if x != y and {x[2], y[2]} not in ({3, 17}, {5, 29})}
  assert cliques.clique_search(nodes, links, cliques.DEFAULT_MAX_PAIRS) == literal_clique_search(nodes, links)


def test_decode_events_falls_back_to_greedy_cliques():
  # a, b, c, d at tokens 1..4 with links a-c, a-d, b-c, b-d: four cliques {a,c} {a,d} {b,c} {b,d}.
  labels = [("T", "r")]
  n = 6
  args = -np.ones((1, n, n))
  for i in range(1, 5):
    args[0, i, i] = 1
  link = -np.ones((n, n))
  for i, j in ((1, 3), (1, 4), (2, 3), (2, 4)):
    link[i, j] = 1
  a, b, c, d = [("T", "r", i, i) for i in range(1, 5)]
  exact = cliques.decode_events(args, link, link, labels, n, require_trigger=False)
  assert sorted(exact) == [[a, c], [a, d], [b, c], [b, d]]
  # Past the bound (6 pairs > 1): greedy from a (a+c), from b (b+c), from d (a+d); c is covered.
  with pytest.warns(UserWarning, match="event type 'T' decoded by greedy_cliques"):
    got = cliques.decode_events(args, link, link, labels, n, require_trigger=False, max_pairs=1)
  assert got == [[a, c], [b, c], [a, d]]
