"""Google-BERT masked-LM masking of one token sequence (whole words at once when word starts are
given): the targets of the "mlm" objective of `flaxnlp.tasks.pretraining`."""
import numpy as np


def mask_tokens(ids: np.ndarray, word_starts: np.ndarray, candidates: np.ndarray, *,
                rate: float, max_predictions: int, mask_id: int, random_ids: np.ndarray,
                mask_token_rate: float, random_token_rate: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """Google-BERT masking of one sequence → (masked ids, sorted target positions).

  Args:
    ids: int [L] token ids.
    word_starts: bool [L]; a word is a start position plus the following non-start positions.
    candidates: bool [L], positions that may be masked.
    rate: share of candidates to predict (rounded, at least 1, at most `max_predictions`).
  """
  positions = np.flatnonzero(candidates)
  if not len(positions):
    return ids.copy(), positions
  count = min(max(1, int(round(len(positions) * rate))), max_predictions)
  words = np.split(positions, np.flatnonzero(word_starts[positions][1:]) + 1)
  chosen: list[int] = []
  for k in rng.permutation(len(words)):
    if len(chosen) + len(words[k]) <= count:
      chosen.extend(words[k])
      if len(chosen) == count:
        break
  chosen = np.sort(np.asarray(chosen, np.int64))
  out = ids.copy()
  r = rng.random(len(chosen))
  out[chosen[r < mask_token_rate]] = mask_id
  swap = chosen[(r >= mask_token_rate) & (r < mask_token_rate + random_token_rate)]
  out[swap] = rng.choice(random_ids, size=len(swap))
  return out, chosen
