"""Checkpoint helpers (state + grain iterator, best params, warm-start merge) and the grain
pipeline properties that exact resume and multi-process training rely on."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flaxnlp.data import pipeline
from flaxnlp.errors import UserError
from flaxnlp.models import warm_start
from flaxnlp.train import checkpointing


def stream(process_index=0, process_count=1, batch=4):
  featurize = lambda ex, rng: {"token_ids": np.arange(ex % 5 + 1), "x": ex, "r": rng.integers(1 << 30)}
  return pipeline.train_stream(list(range(10)), featurize, global_batch_size=batch, seed=3,
                               process_index=process_index, process_count=process_count)


def ids(batch):
  return [(f["x"], f["r"]) for f in batch]


def test_bucket_length():
  assert [pipeline.bucket_length(n, (64, 16, 32)) for n in (1, 16, 17, 64)] == [16, 16, 32, 64]
  with pytest.raises(ValueError, match="exceeds the largest bucket 64"):
    pipeline.bucket_length(65, (16, 64))


def test_process_shards_compose_the_single_process_batches():
  one = stream()
  shards = [stream(0, 2), stream(1, 2)]
  for _ in range(6):  # crosses epoch boundaries (10 examples, batch 4)
    assert ids(next(one)) == ids(next(shards[0])) + ids(next(shards[1]))


def test_epochs_reshuffle_and_resample_reproducibly():
  batches = [ids(b) for _, b in zip(range(5), stream())]
  again = [ids(b) for _, b in zip(range(5), stream())]
  assert batches == again
  flat = [x for b in batches for x in b]
  epoch1, epoch2 = flat[:10], flat[10:20]
  assert sorted(x for x, _ in epoch1) == sorted(x for x, _ in epoch2) == list(range(10))
  assert [x for x, _ in epoch1] != [x for x, _ in epoch2]          # reshuffled
  assert dict(epoch1) != dict(epoch2)                               # per-epoch record rngs


def test_group_by_length_cuts_sorted_runs_in_random_order():
  window = [{"token_ids": np.zeros(n), "n": n} for n in (5, 1, 4, 2, 6, 3)]
  batches = pipeline.group_by_length(window, np.random.default_rng(0), batch_size=2)
  assert sorted([f["n"] for f in b] for b in batches) == [[1, 2], [3, 4], [5, 6]]
  orders = {tuple(b[0]["n"] for b in pipeline.group_by_length(window, np.random.default_rng(s), 2))
            for s in range(20)}
  assert len(orders) > 1                                            # batch order is drawn


def test_length_grouped_stream_keeps_epochs_and_resumes_inside_a_window():
  lengths = np.random.default_rng(1).integers(1, 100, size=48)
  featurize = lambda ex, rng: {"token_ids": np.zeros(lengths[ex]), "x": ex}
  make = lambda: pipeline.train_stream(list(range(48)), featurize, global_batch_size=4, seed=0,
                                       group_batches=4)
  plain = pipeline.train_stream(list(range(48)), featurize, global_batch_size=4, seed=0)
  it = make()
  grouped = [[f["x"] for f in next(it)] for _ in range(12)]
  assert sorted(x for b in grouped for x in b) == list(range(48))  # one epoch, each example once
  spread = lambda b: np.ptp([lengths[x] for x in b])
  mixed = [[f["x"] for f in next(plain)] for _ in range(12)]
  assert sum(map(spread, grouped)) < 0.5 * sum(map(spread, mixed))  # less padding

  it = make()
  for _ in range(5):  # stop inside the second window of 4 batches
    next(it)
  state = it.get_state()
  expected = [[f["x"] for f in next(it)] for _ in range(6)]
  fresh = make()
  fresh.set_state(state)
  assert [[f["x"] for f in next(fresh)] for _ in range(6)] == expected
  with pytest.raises(ValueError, match="group_batches"):
    pipeline.train_stream([1], featurize, global_batch_size=1, seed=0, group_batches=0)


def test_state_and_iterator_round_trip(tmp_path):
  it = stream()
  for _ in range(3):
    next(it)
  state = {"w": jnp.arange(6.0).reshape(2, 3), "step": jnp.int32(3)}
  mngr = checkpointing.manager(tmp_path, keep=2)
  checkpointing.save(mngr, 3, state, it)
  mngr.wait_until_finished()
  expected = [ids(next(it)) for _ in range(2)]

  fresh = stream()
  target = checkpointing.abstract_target(
      jax.eval_shape(lambda: state), jax.tree.map(lambda x: x.sharding, state))
  restored = checkpointing.restore(checkpointing.manager(tmp_path, keep=2), 3, target, fresh)
  np.testing.assert_array_equal(restored["w"], state["w"])
  assert [ids(next(fresh)) for _ in range(2)] == expected


def test_best_checkpoint_round_trip(tmp_path):
  mngr = checkpointing.manager(tmp_path, keep=1, async_save=False)
  assert checkpointing.best_meta(mngr) is None
  params = {"w": jnp.ones((2, 2))}
  checkpointing.save_best(mngr, 7, params, {"step": 7, "metric": "f1", "value": 0.5})
  checkpointing.save_best(mngr, 9, {"w": 2 * params["w"]}, {"step": 9, "metric": "f1", "value": 0.6})
  assert checkpointing.best_meta(mngr)["value"] == 0.6 and mngr.all_steps() == [9]
  target = checkpointing.abstract_target(jax.eval_shape(lambda: params),
                                         jax.tree.map(lambda x: x.sharding, params))
  np.testing.assert_array_equal(checkpointing.restore_best_params(mngr, target)["w"], 2.0)


def test_merge_pretrained_is_strict_and_reports_what_it_loaded():
  params = {"encoder": {"a": {"kernel": jnp.zeros((2, 3))}, "b": jnp.zeros(4)},
            "head": {"kernel": jnp.zeros((3, 1))}}
  shardings = jax.tree.map(lambda x: x.sharding, params)
  full = {"a": {"kernel": np.ones((2, 3))}, "b": np.ones(4), "mlm_bias": np.ones(7)}
  merged, report = warm_start.merge_pretrained(params, shardings, full, ("encoder",))
  assert report.loaded == ("encoder/a/kernel", "encoder/b") and report.num_params == 10
  assert report.kept_init == () and report.unused == ("mlm_bias",)
  assert "loaded 2 leaves (10 parameters)" in report.summary()
  np.testing.assert_array_equal(merged["encoder"]["a"]["kernel"], 1.0)
  np.testing.assert_array_equal(merged["encoder"]["b"], 1.0)
  np.testing.assert_array_equal(merged["head"]["kernel"], 0.0)  # outside the key: untouched

  # Part of the encoder only (e.g. a 6-layer checkpoint for 12 layers): an error unless allowed.
  partial = {"a": {"kernel": np.ones((2, 3))}}
  with pytest.raises(UserError, match=r"covers only part of encoder.*left at init: encoder/b.*"
                                      r"init_checkpoint_allow_partial"):
    warm_start.merge_pretrained(params, shardings, partial, ("encoder",))
  merged, report = warm_start.merge_pretrained(params, shardings, partial, ("encoder",),
                                                  allow_partial=True)
  assert report.kept_init == ("encoder/b",)
  np.testing.assert_array_equal(merged["encoder"]["b"], 0.0)

  with pytest.raises(UserError, match=r"encoder/a/kernel has shape \(2, 3\) in the model but "
                                      r"\(3, 3\)"):
    warm_start.merge_pretrained(params, shardings, {**full, "a": {"kernel": np.ones((3, 3))}},
                                   ("encoder",))
  with pytest.raises(UserError, match="no checkpoint leaf matches"):
    warm_start.merge_pretrained(params, shardings, {"zzz": np.ones(1)}, ("encoder",),
                                   allow_partial=True)


def test_has_checkpoint_ignores_interrupted_saves_and_creates_nothing(tmp_path):
  assert not checkpointing.has_checkpoint(tmp_path / "absent")
  assert not (tmp_path / "absent").exists()
  (tmp_path / "3.orbax-checkpoint-tmp-1").mkdir()
  assert not checkpointing.has_checkpoint(tmp_path)
  (tmp_path / "4").mkdir()
  assert checkpointing.has_checkpoint(tmp_path)
  (tmp_path / "9.unreadable").mkdir()  # set aside by restore_newest_readable
  assert checkpointing.committed_steps(tmp_path) == [4]


def test_eval_batches_pad_the_last_batch_and_bucket_each_batch():
  feats = [{"token_ids": np.zeros(n)} for n in (3, 9, 4, 2, 5)]
  got = list(pipeline.eval_batches(feats, global_batch_size=2, buckets=(4, 8, 16)))
  assert got == [([0, 1], 16, 2), ([2, 3], 4, 2), ([4, 4], 8, 1)]
