"""The evaluation results store (``SweepStore``) on SQLite and PostgreSQL: the same tests on
each backend (``store_url`` is parametrised in conftest.py), as for the run store and the
graph store."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from agents.eval import EpisodeKey, SweepStore, UnitRecord
from agents.store import SqlRunStore
from protocols import UserError

H1, H2 = "a" * 64, "ab" + "c" * 62


@pytest.fixture
def store(store_url: str) -> Iterator[SweepStore]:
    with SweepStore(store_url) as opened:
        yield opened


def key(i: int, seed: int = 0) -> EpisodeKey:
    return EpisodeKey("episode", f"item:{i}", "random", 0.2, seed)


def test_units_round_trip_with_json_payloads(store: SweepStore) -> None:
    store.begin(H1, "tom", {"config": {"budgets": [0.0, 0.5]}, "note": "ünïcode"})
    payload = {"correct": True, "p": 0.25, "text": "3/4 − 1/2", "nested": [1, None, "x"]}
    store.save(H1, [UnitRecord(key(0), payload, 1.5), UnitRecord(key(1), {}, 0.0)])
    assert store.load(H1) == {
        key(0): UnitRecord(key(0), payload, 1.5),
        key(1): UnitRecord(key(1), {}, 0.0),
    }
    assert store.load(H2) == {}


def test_metadata_is_merged_and_begin_keeps_the_first_creation(store: SweepStore) -> None:
    store.begin(H1, "tom", {"a": 1})
    [first] = store.sweeps()
    store.begin(H1, "tom", {"b": 2})
    store.update_meta(H1, curves=[{"x": 0.5}])
    [sweep] = store.sweeps()
    assert sweep.meta == {"a": 1, "b": 2, "curves": [{"x": 0.5}]}
    assert sweep.created_at == first.created_at and sweep.updated_at >= first.updated_at
    with pytest.raises(UserError, match="no sweep 'zzz'"):
        store.update_meta("zzz", x=1)


def test_sweeps_are_found_by_unique_prefix_and_deleted_alone(store: SweepStore) -> None:
    store.begin(H1, "tom", {})
    store.begin(H2, "classroom", {})
    store.save(H1, [UnitRecord(key(0), {}, 0.0)])
    store.save(H2, [UnitRecord(key(0), {}, 0.0), UnitRecord(key(1), {}, 0.0)])
    assert {(s.config_hash, s.kind, s.units) for s in store.sweeps()} == {
        (H1, "tom", 1),
        (H2, "classroom", 2),
    }
    assert store.get("abc").config_hash == H2 and store.get(H1).config_hash == H1
    with pytest.raises(UserError, match="is uniquely matched by"):
        store.get("a")
    with pytest.raises(UserError, match="no sweep matches"):
        store.get("f")
    assert store.delete(H2) == 2
    assert [s.config_hash for s in store.sweeps()] == [H1] and store.load(H1) != {}


def test_concurrent_writers_each_keep_their_units(store_url: str) -> None:
    """Four stores (as four workers would open) save at once; none fails, none is lost,
    and a unit saved twice keeps its first result."""
    with SweepStore(store_url) as setup:
        setup.begin(H1, "tom", {})

    def write(worker: int) -> None:
        with SweepStore(store_url) as mine:
            for i in range(10):
                mine.save(H1, [UnitRecord(key(i, seed=worker), {"w": worker}, 0.0)])
                mine.save(H1, [UnitRecord(key(i, seed=0), {"w": worker}, 0.0)])

    with ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(write, w) for w in range(1, 5)]:
            done.result()  # a writer's error fails the test here
    with SweepStore(store_url) as reader:
        units = reader.load(H1)
    assert len(units) == 10 * 4 + 10
    assert all(units[key(i, w)].payload == {"w": w} for i in range(10) for w in range(1, 5))
    assert {units[key(i, 0)].payload["w"] for i in range(10)} <= {1, 2, 3, 4}


def test_sweeps_and_runs_share_one_database(store_url: str) -> None:
    with SweepStore(store_url) as sweeps:
        sweeps.begin(H1, "tom", {})
    with SqlRunStore(store_url, read_only=True) as runs:  # the same schema, at its head
        assert runs.list_runs() == []
