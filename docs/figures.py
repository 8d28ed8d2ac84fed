"""Re-creates every figure of docs/ from the measurements in docs/data/*.csv.

  python docs/figures.py                 # writes docs/figures/*.png
  python docs/figures.py --out /tmp/fig  # anywhere else

Each CSV row is one measurement with the command that produced it and the commit that recorded it
(docs/results.md has the context of each). `FIGURES` maps every PNG name to the function drawing it.
"""
import argparse
import csv
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)

DATA = pathlib.Path(__file__).resolve().parent / "data"
OUT = pathlib.Path(__file__).resolve().parent / "figures"


def read_rows(name: str) -> list[dict[str, str]]:
  """The rows of docs/data/`name`.csv as dicts keyed by the header."""
  with open(DATA / f"{name}.csv", newline="", encoding="utf-8") as f:
    return list(csv.DictReader(f))


def series(rows, key: str, x: str, y: str) -> dict[str, tuple[list[float], list[float]]]:
  """{value of `key`: (xs, ys)} in file order."""
  out = {}
  for row in rows:
    xs, ys = out.setdefault(row[key], ([], []))
    xs.append(float(row[x]))
    ys.append(float(row[y]))
  return out


def cluener_heads(ax):
  """Dev F1 per epoch of the CRF, GP and EGP heads on CLUENER (zh-small encoder)."""
  for head, (xs, ys) in series(read_rows("cluener_heads"), "head", "epoch", "dev_f1").items():
    ax.plot(xs, ys, marker="o", label=head)
  ax.set(xlabel="epoch", ylabel="dev F1", title="CLUENER dev F1: CRF vs GP vs EGP (zh-small)")
  ax.set_xticks(range(1, 6))


def msra_long(ax):
  """Test F1 over MSRA's first epoch for the learning rates and batch sizes tried."""
  for run, (xs, ys) in series(read_rows("msra_long"), "run", "epoch", "test_f1").items():
    ax.plot(xs, ys, marker="o", label=run)
  ax.set(xlabel="epoch", ylabel="test F1", title="MSRA, EGP on zh-small, one epoch")


def pretraining(ax):
  """Held-out masked and UniLM next-character accuracy of the zh-small pretraining run."""
  rows = read_rows("pretraining")
  steps = [float(r["step"]) for r in rows]
  ax.plot(steps, [float(r["masked_accuracy"]) for r in rows], marker="o", label="masked (MLM)")
  ax.plot(steps, [float(r["unilm_accuracy"]) for r in rows], marker="o", label="UniLM next character")
  for row, style in zip(read_rows("pretraining_baselines"), (":", "--")):
    ax.axhline(float(row["accuracy"]), color="grey", linestyle=style,
               label=f"unigram baseline, {row['objective']}")
  ax.set(xlabel="step (batch 32 × 128 tokens)", ylabel="held-out accuracy",
         title="zh-small pretraining (RoFormer, 4 layers, hidden 256)")


def duee_size(ax):
  """DuEE event and argument F1 against the number of training documents (log2 axis)."""
  rows = read_rows("duee_size")
  docs = [float(r["documents"]) for r in rows]
  ax.plot(docs, [float(r["event_f1"]) for r in rows], marker="o", label="event F1")
  ax.plot(docs, [float(r["argument_f1"]) for r in rows], marker="o", label="argument F1")
  ax.set_xscale("log", base=2)
  ax.set_xticks(docs, [f"{d:,.0f}" for d in docs])
  ax.set(xlabel="training documents", ylabel="F1 on the documents not trained on",
         title="DuEE, GPLinker on zh-small, 2,000 steps")


FIGURES = {"cluener_heads.png": cluener_heads, "msra_long.png": msra_long,
           "pretraining.png": pretraining, "duee_size.png": duee_size}


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", type=pathlib.Path, default=OUT, help="output directory")
  args = parser.parse_args(argv)
  args.out.mkdir(parents=True, exist_ok=True)
  for name, draw in FIGURES.items():
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    draw(ax)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / name)
    plt.close(fig)
    print(args.out / name)


if __name__ == "__main__":
  main()
