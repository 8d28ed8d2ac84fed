"""Clique-search stress test (blog 8926): memoised `clique_search` vs the literal recursion.

Graphs: (a) dense graphs of n nodes missing m random links (n = 30..40, m = 2..8), (b) random
graphs with n = 20..60 nodes and link probability p. The literal recursion (written here, no memo)
runs under a call budget and is reported as "> budget" when it exceeds it. Prints seconds, number
of cliques, and the literal's call count. Usage: .venv/bin/python benchmarks/cliques.py [--quick]
"""
import argparse
import itertools
import random
import time

from flaxnlp.decoding.cliques import clique_search


class Budget(Exception):
  pass


def literal(argus, links, counter, budget):
  counter[0] += 1
  if counter[0] > budget:
    raise Budget
  nbrs = lambda x: sorted([x] + [y for y in argus if (x[2], x[3], y[2], y[3]) in links])
  cand = []
  for i, x in enumerate(argus):
    for y in argus[i + 1:]:
      if (x[2], x[3], y[2], y[3]) not in links:
        for c in (nbrs(x), nbrs(y)):
          if c not in cand:
            cand.append(c)
  if not cand:
    return [sorted(argus)]
  out = []
  for c in cand:
    for r in literal(c, links, counter, budget):
      if r not in out:
        out.append(r)
  return out


def graph(n, keep):
  nodes = [("T", "r", i, i) for i in range(n)]
  links = set()
  for x, y in itertools.combinations(nodes, 2):
    if keep(x, y):
      links |= {(x[2], x[3], y[2], y[3]), (y[2], y[3], x[2], x[3])}
  return nodes, links


def run(name, nodes, links, budget):
  t = time.perf_counter()
  result = clique_search(nodes, links)
  memo_s = time.perf_counter() - t
  counter = [0]
  t = time.perf_counter()
  try:
    same = literal(nodes, links, counter, budget) == result
    lit = f"{time.perf_counter() - t:8.3f}s calls={counter[0]} same={same}"
  except Budget:
    lit = f"> {budget} calls ({time.perf_counter() - t:.1f}s, aborted)"
  print(f"{name:28s} memo {memo_s:8.3f}s cliques={len(result):5d} | literal {lit}", flush=True)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--quick", action="store_true")
  args = parser.parse_args()
  rng = random.Random(0)
  budget = 2000 if args.quick else 20000
  dense = [(30, 2), (30, 4)] if args.quick else [(30, 2), (30, 4), (35, 6), (40, 8)]
  for n, m in dense:
    missing = set(rng.sample(list(itertools.combinations(range(n), 2)), m))
    nodes, links = graph(n, lambda x, y: (x[2], y[2]) not in missing)
    run(f"dense n={n} missing={m}", nodes, links, budget)
  sizes = [(20, 0.5), (30, 0.7)] if args.quick else [(20, 0.5), (30, 0.7), (40, 0.5), (60, 0.3), (60, 0.5)]
  for n, p in sizes:
    nodes, links = graph(n, lambda x, y: rng.random() < p)
    run(f"random n={n} p={p}", nodes, links, budget)


if __name__ == "__main__":
  main()
