"""Builders: the shipped sample curriculum, and graphs from the real data sets."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from knowledge_graph import MemoryGraphStore, SqlGraphStore
from knowledge_graph.builders import (
    CURRICULUM_LABELS,
    TAGS,
    cbt_graph,
    curriculum_graph,
    gsm8k_graph,
    load_gsm8k,
    misconception_graph,
    sample_curriculum,
    tag_distribution,
    tag_solution,
)
from protocols import ConfigError

from .conftest import require


@pytest.fixture
def data_dir() -> Path:
    value = os.environ.get("LYCEUM_DATA_DIR")
    require(
        bool(value) and Path(value or "").is_dir(),
        "LYCEUM_DATA_DIR is not set to the evaluation data folder (../shared/data)",
    )
    return Path(value or "")


def test_the_sample_curriculum_has_every_label_and_edge_type() -> None:
    graph = sample_curriculum()
    stats = graph.stats()
    assert set(stats.labels) == set(CURRICULUM_LABELS)
    assert set(stats.edge_types) == {
        "PREREQUISITE_OF",
        "PART_OF",
        "REQUIRES",
        "EXHIBITS",
        "REMEDIATES",
    }
    assert graph.shortest_path("skill:equivalent_fractions", "skill:fraction_addition") == [
        "skill:equivalent_fractions",
        "skill:common_denominator",
        "skill:fraction_addition",
    ]
    exhibits = graph.edges("item:frac-add-1", type="EXHIBITS")
    assert [(e.target, e.properties) for e in exhibits] == [
        ("misconception:add_across", {"wrong_answer": "2/9"})
    ]
    remedies = [
        e.source for e in graph.edges("misconception:add_across", direction="in", type="REMEDIATES")
    ]
    assert remedies == ["explanation:x-common-denominator"]


def test_a_curriculum_file_with_a_bad_reference_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "concepts:\n  f: {name: F, description: d}\n"
        "skills:\n  add:\n    name: Add\n    description: d\n    concept: fractoins\n"
    )
    with pytest.raises(ConfigError) as info:
        curriculum_graph(path)
    assert str(info.value).startswith(f"{path}:7: field 'skills.add.concept': 'fractoins' is not")
    path.write_text("concepts: {}\nskills: {}\nitmes: {}\n")
    with pytest.raises(ConfigError, match=r":3: field 'itmes': unknown field"):
        curriculum_graph(path)


def test_the_sample_curriculum_loads_into_sql_too(tmp_path: Path) -> None:
    store = SqlGraphStore(str(tmp_path / "kg.db"))
    sample_curriculum(store)
    assert store.stats() == sample_curriculum().stats()
    store.close()


@pytest.mark.parametrize(
    ("question", "solution", "tags"),
    [
        (
            "Natalia sold clips to 48 of her friends in April, and then she sold half as many.",
            "She sold 48/2 = <<48/2=24>>24 in May.\nShe sold 48+24 = <<48+24=72>>72.\n#### 72",
            ["op:add", "op:div", "steps:2", "fractions"],
        ),
        (
            "Weng earns $12 an hour. She did 50 minutes of babysitting.",
            "12/60 = $<<12/60=0.2>>0.2 per minute.\n0.2 x 50 = $<<0.2*50=10>>10.\n#### 10",
            ["op:mul", "op:div", "steps:2", "rates", "units:money", "units:time"],
        ),
        (
            "A tank holds 3/4 of 20 liters; 25% leaks out.",
            "3/4*20=<<3/4*20=15>>15\n15*25/100=<<15*25/100=3.75>>3.75\n15-3.75=<<15-3.75=11.25>>"
            "11.25\n11.25+0=<<11.25+0=11.25>>11.25\n11.25-1=<<11.25-1=10.25>>10.25\n#### 10.25",
            [
                "op:add",
                "op:sub",
                "op:mul",
                "op:div",
                "steps:5+",
                "fractions",
                "percentages",
                "units:volume",
            ],
        ),
        ("It is -3 degrees.", "<<-3*2=-6>>\n#### -6", ["op:mul", "steps:1"]),
    ],
)
def test_the_gsm8k_tagger_is_documented_and_deterministic(
    question: str, solution: str, tags: list[str]
) -> None:
    assert tag_solution(question, solution) == tags
    assert set(tags) <= set(TAGS)


def test_misconception_graph_from_real_data(data_dir: Path) -> None:
    graph = misconception_graph(data_dir)
    stats = graph.stats()
    assert stats.labels["Misconception"] == 55 and stats.labels["Item"] == 110
    assert stats.edge_types["EXHIBITS"] == 110
    mis = graph.node("misconception:MaE08")
    assert mis is not None and "numerators and denominators" in mis.properties["description"]
    held_in = misconception_graph(data_dir, include_example=lambda r: r["Example Number"] == 1)
    assert held_in.stats().labels["Item"] == 55


def test_gsm8k_graph_and_tag_distribution_from_real_data(data_dir: Path) -> None:
    records = load_gsm8k(data_dir)
    assert len(records) == 7473
    counts = tag_distribution(records)
    steps = sum(counts[t] for t in TAGS if t.startswith("steps:"))
    assert steps == 7473  # every problem gets exactly one step bucket
    assert counts["op:mul"] > counts["op:div"] > counts["percentages"] > 0
    graph = gsm8k_graph(data_dir, limit=50)
    assert graph.stats().labels == {"Item": 50, "Skill": len(TAGS)}
    first = graph.edges("item:gsm8k-train-0")
    assert sorted(e.target for e in first) == sorted(
        f"skill:gsm8k/{t}" for t in tag_solution(records[0]["question"], records[0]["answer"])
    )


def test_cbt_graph_from_patient_psi_profiles(data_dir: Path) -> None:
    graph = cbt_graph(data_dir, store=MemoryGraphStore())
    assert graph.stats().labels["Patient"] == 3
    path = graph.shortest_path("patient:1-1/situation", "patient:1-1/behavior")
    assert path == ["patient:1-1/situation", "patient:1-1/thought", "patient:1-1/behavior"]
    cores = graph.match("CoreBelief", category="helpless")
    assert {c.id.split("/")[0] for c in cores} >= {"patient:1-1"}
    chain = graph.shortest_path(cores[0].id, f"{cores[0].id.split('/')[0]}/coping")
    assert chain is not None and len(chain) == 3  # core → intermediate → coping


def test_a_missing_data_folder_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LYCEUM_DATA_DIR", raising=False)
    with pytest.raises(ConfigError, match="set LYCEUM_DATA_DIR"):
        misconception_graph()
    with pytest.raises(ConfigError, match=r"gsm8k/train\.jsonl is not in the data folder"):
        gsm8k_graph(tmp_path)
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "train.jsonl").write_text('{"question": "q", "answer": "a"}\n{oops\n')
    with pytest.raises(ConfigError, match=r"train\.jsonl:2: not valid JSON"):
        gsm8k_graph(tmp_path)


def test_the_tag_table_in_the_docs_is_what_the_tagger_produces(data_dir: Path) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "knowledge_graph.md").read_text()
    rows = dict(re.findall(r"^\| ([a-z:0-9+]+) \| (\d+) \| [\d.]+% \|$", doc, re.M))
    counts = tag_distribution(load_gsm8k(data_dir))
    assert {tag: int(n) for tag, n in rows.items()} == {tag: counts[tag] for tag in TAGS}
