"""A store path may name a file that is not a lyceum store: nothing may change it.

Read-only commands (``runs list/show``, ``kg stats/query/export``) open a store without
creating the file, migrating or changing the journal mode; every command refuses another
program's SQLite file with a one-line error (exit 2) and leaves it byte-identical, with no
``-wal`` or ``-shm`` beside it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from agents.cli import main
from agents.store import SqlRunStore
from agents.store.tables import Base
from knowledge_graph import SqlGraphStore
from knowledge_graph.sql import metadata
from protocols import StoreError, UserError
from protocols.store_files import LYCEUM_TABLES

READERS = [
    ["runs", "list"],
    ["runs", "show", "abc"],
    ["kg", "stats"],
    ["kg", "query", "fractions"],
    ["kg", "export", "out.jsonl"],
]
WRITERS = [
    ["demo", "--students", "0", "--profiles", "strong", "--quiet"],
    ["kg", "build", "curriculum"],
]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # `kg export out.jsonl` writes here, where the tests look


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def other_program_db(path: Path, *, alembic: bool, wal: bool = False) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO contacts (name) VALUES ('Ada')")
    if alembic:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('3f2a9c1b7d4e')")
    conn.commit()
    conn.close()
    return path


def invoke(tmp_path: Path, args: list[str], db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", str(db)], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert not (tmp_path / "out.jsonl").exists()
    return result.exit_code, result.stderr


@pytest.mark.parametrize("args", READERS + WRITERS, ids=" ".join)
@pytest.mark.parametrize("alembic", [False, True], ids=["plain", "own-alembic_version"])
@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "wal"])
def test_another_programs_database_is_refused_and_left_byte_identical(
    tmp_path: Path, args: list[str], alembic: bool, wal: bool
) -> None:
    db = other_program_db(tmp_path / "other.db", alembic=alembic, wal=wal)
    before = digest(db)
    code, stderr = invoke(tmp_path, args, db)
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {db} is not a lyceum ")
    assert "it has tables lyceum does not create: 'contacts'" in stderr
    assert "it was left untouched. Move it aside, or pass --db / LYCEUM_DB" in stderr
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_foreign_alembic_revision_alone_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    conn.execute("INSERT INTO alembic_version VALUES ('3f2a9c1b7d4e')")
    conn.commit()
    conn.close()
    before = digest(db)
    for args in (["runs", "list"], ["demo", "--students", "0", "--profiles", "strong", "--quiet"]):
        code, stderr = invoke(tmp_path, args, db)
        assert code == 2, stderr
        assert (
            f"error: {db} is not a lyceum run store (its alembic_version is at revision "
            "'3f2a9c1b7d4e', unknown to lyceum); it was left untouched." in stderr
        )
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_reading_a_missing_store_does_not_create_it(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "typo.db"
    code, stderr = invoke(tmp_path, args, db)
    assert code == 2
    assert stderr.startswith(f"error: there is no {'graph' if args[0] == 'kg' else 'run'} store")
    assert f" at {db}: no such file, and reading does not create one." in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_file_that_is_not_sqlite_is_left_untouched(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(b"my notes, not a database\n" * 50)
    code, stderr = invoke(tmp_path, args, db)
    assert code == 2
    assert f"{db}: file is not a database (it starts with b'my notes, not a '" in stderr
    assert db.read_bytes() == b"my notes, not a database\n" * 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_one_file_holds_both_stores_and_reading_it_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "lyceum.db"
    assert invoke(tmp_path, ["kg", "build", "curriculum"], db)[0] == 0
    assert (
        invoke(tmp_path, ["demo", "--students", "0", "--profiles", "strong", "--quiet"], db)[0] == 0
    )
    before, files = digest(db), sorted(tmp_path.iterdir())
    with SqlRunStore(str(db), read_only=True) as store:
        (run,) = store.list_runs()
    for args in (["runs", "list"], ["runs", "show", run.id[:8]], ["kg", "stats"]):
        assert invoke(tmp_path, args, db) == (0, "")
    assert digest(db) == before and sorted(tmp_path.iterdir()) == files


def test_a_graph_only_file_holds_no_run_store_yet(tmp_path: Path) -> None:
    db = tmp_path / "kg.db"
    graph = SqlGraphStore(str(db))
    graph.stats()
    graph.close()
    with pytest.raises(
        StoreError, match=r"holds no run store; nothing was changed\. `lyceum demo`"
    ):
        SqlRunStore(str(db), read_only=True).list_runs()
    with SqlRunStore(str(db)) as writer:  # a writer adds the run store beside the graph
        assert writer.list_runs() == []


def test_lyceum_tables_are_both_stores_tables() -> None:
    runs = set(Base.metadata.tables) | {"alembic_version"}
    graph = set(metadata.tables) | {"kg_alembic_version"}
    assert runs | graph == LYCEUM_TABLES


def test_a_read_only_store_never_migrates_on_any_backend(store_url: str) -> None:
    with pytest.raises(StoreError, match="no run store"):
        SqlRunStore(store_url, read_only=True).list_runs()
    with pytest.raises(StoreError, match="no graph store"):
        SqlGraphStore(store_url, read_only=True).stats()
    SqlRunStore(store_url).init().close()
    writer = SqlGraphStore(store_url)
    writer.stats()  # creates the schema
    writer.close()
    with SqlRunStore(store_url, read_only=True) as runs:
        assert runs.list_runs() == []
    graph = SqlGraphStore(store_url, read_only=True)
    assert graph.stats().nodes == 0
    graph.close()


def test_a_read_only_run_store_reads_and_refuses_to_write_on_any_backend(
    store_url: str,
) -> None:
    from .test_run_store_conformance import make_run

    with SqlRunStore(store_url) as writer:
        writer.create_run(make_run("r1"))
    with SqlRunStore(store_url, read_only=True) as reader:
        assert [r.id for r in reader.list_runs()] == ["r1"]
        with pytest.raises(UserError, match=r"was opened read_only, so it cannot write"):
            reader.create_run(make_run("r2"))
    with SqlRunStore(store_url) as writer:
        assert [r.id for r in writer.list_runs()] == ["r1"]
