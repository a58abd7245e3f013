"""``lyceum db status|upgrade`` on SQLite and PostgreSQL: a new database, one written by an
older lyceum (run store at revision 0002), a database at the newest revision, and bad
input, which changes nothing."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from agents.cli import main
from agents.store import SqlRunStore


def lyceum(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["db", *args])
    return result.exit_code, result.output


def older_run_store(url: str) -> None:
    """A run store as lyceum wrote it before evaluation sweeps existed (revision 0002)."""
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("agents.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    engine.dispose()


def rows(output: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines()
            if line.startswith("│")]  # fmt: skip


def test_status_and_upgrade_of_an_older_run_store(store_url: str) -> None:
    older_run_store(store_url)
    assert lyceum("status", "--db", store_url)[0] == 0
    assert rows(lyceum("status", "--db", store_url)[1]) == [
        ["runs", "0002", "0003", "behind (`lyceum db upgrade` upgrades it)"]
    ]
    code, out = lyceum("upgrade", "--db", store_url)
    assert (code, out.split(" (")[0]) == (0, "run store: 0002 → 0003")
    assert rows(lyceum("status", "--db", store_url)[1]) == [["runs", "0003", "0003", "up to date"]]
    assert lyceum("upgrade", "--db", store_url)[1].startswith("run store: already up to date")
    engine = create_engine(store_url)
    assert {"runs", "messages", "events", "sweeps", "sweep_units"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
    with SqlRunStore(store_url, read_only=True) as store:  # a reader opens it as it is
        assert store.list_runs() == []


def test_a_new_database_is_reported_absent_and_created_by_upgrade(tmp_path: Path) -> None:
    runs, graph = tmp_path / "runs.db", tmp_path / "kg.db"
    assert rows(lyceum("status", "--db", str(runs))[1]) == [
        ["runs", "none", "0003", "absent (`lyceum db upgrade` creates it)"]
    ]
    assert not runs.exists()  # status reads only: it creates nothing
    assert lyceum("upgrade", "--db", str(runs))[1].startswith("run store: none → 0003")
    code, out = lyceum("upgrade", "--db", str(graph), "--store", "graph")
    assert (code, out.split(" (")[0]) == (0, "graph store: none → kg0001")
    # the two stores may share one database: each keeps its own revision
    assert lyceum("upgrade", "--db", str(runs), "--store", "graph")[1].startswith(
        "graph store: none → kg0001"
    )
    for store, head in (("runs", "0003"), ("graph", "kg0001")):
        status = lyceum("status", "--db", str(runs), "--store", store)[1]
        assert rows(status) == [[store, head, head, "up to date"]]
    engine = create_engine(f"sqlite:///{graph}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM kg_alembic_version")).scalar() == "kg0001"
    engine.dispose()


def test_both_stores_upgrade_into_one_new_database_on_each_backend(store_url: str) -> None:
    assert rows(lyceum("status", "--db", store_url)[1]) == [
        ["runs", "none", "0003", "absent (`lyceum db upgrade` creates it)"]
    ]
    assert lyceum("upgrade", "--db", store_url)[1].startswith("run store: none → 0003")
    code, out = lyceum("upgrade", "--db", store_url, "--store", "graph")
    assert (code, out.split(" (")[0]) == (0, "graph store: none → kg0001")
    for store, head in (("runs", "0003"), ("graph", "kg0001")):
        status = lyceum("status", "--db", store_url, "--store", store)[1]
        assert rows(status) == [[store, head, head, "up to date"]]
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
        assert conn.execute(text("SELECT version_num FROM kg_alembic_version")).scalar() == (
            "kg0001"
        )
    engine.dispose()


def test_bad_input_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database\n")
    for verb in ("status", "upgrade"):
        code, out = lyceum(verb, "--db", str(junk))
        assert code == 2 and out.startswith("error: cannot open the run store ")
        assert "left untouched" in out and len(out.strip().splitlines()) == 1
    assert junk.read_bytes() == b"not a database\n"
    code, out = lyceum("upgrade", "--db", str(junk), "--store", "nope")
    assert code == 2 and "Invalid value for '--store'" in out
    code, out = lyceum("upgrade", "--db", str(tmp_path / "no" / "x.db"))
    assert code == 2 and "does not exist" in out and not (tmp_path / "no").exists()
