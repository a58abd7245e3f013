"""The evaluation data sets: typed loaders with file:line errors, skill graphs the reading
model reads, and the data's gold and misleading explanations."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

import pytest

from agents.eval import (
    BadRecord,
    EvalItem,
    Explanation,
    GoldExplanations,
    MisleadingExplanations,
    first_sentence,
    load_dataset,
)
from agents.eval.skills import GSM8K_SKILLS
from knowledge_graph.builders import TAGS
from personas import ReadingModel, learner_items
from protocols import ConfigError, UserError
from tests.conftest import require

GSM8K = [
    {
        "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as "
        "many clips in May. How many clips did Natalia sell altogether in April and May?",
        "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = "
        "<<48+24=72>>72 clips altogether in April and May.\n#### 72",
    },
    {
        "question": "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes "
        "of babysitting. How much did she earn?",
        "answer": "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she "
        "earned 0.2 x 50 = $<<0.2*50=10>>10.\n#### 10",
    },
    {
        "question": "A farm sells 1,080 eggs a week. How many does it sell in 2 weeks?",
        "answer": "It sells 1080*2 = <<1080*2=2160>>2,160 eggs.\n#### 2,160",
    },
]

STRATEGYQA = [
    {
        "qid": "q1",
        "term": "Genghis Khan",
        "description": "founder of the Mongol Empire",
        "question": "Are more people today related to Genghis Khan than Julius Caesar?",
        "answer": True,
        "facts": ["Julius Caesar had three children.", "Genghis Khan had sixteen  children."],
        "decomposition": [
            "How many kids did Julius Caesar have?",
            "How many kids did Genghis Khan have?",
            "Is #2 greater than #1?",
        ],
        "evidence": [],
    },
    {
        "qid": "q2",
        "term": "Kaffir lime",
        "question": "Would kaffir lime be good in a White Russian?",
        "answer": False,
        "facts": ["A White Russian contains cream.", "Lime curdles cream."],
        "decomposition": ["What is in a White Russian?", "Does lime curdle #1?"],
    },
]

ECQA_HEADER = (
    ",q_no,q_concept,q_text,q_op1,q_op2,q_op3,q_op4,q_op5,q_ans,taskA_pos,taskA_neg,taskB\n"
)
ECQA_ROWS = (
    "0,a1,applying for job,What does someone typically feel when applying for a job?,horror,"
    "anxiety and fear,rejection,increased workload,being employed,anxiety and fear,"
    '"Anxiety is fear.\n'
    'Applying has an uncertain outcome.",x,"Anxiety is the feeling of fear when the outcome is '
    'uncertain, and applying for a job has an uncertain outcome."\n'
    "1,b2,car,Where do cars usually travel at very high speeds?,freeway,road,race track,alley,"
    "parking lot,race track,x,x,Racers compete on the race track at high speed.\n"
)


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _json(path: Path, records: list[object]) -> Path:
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def _gold(item: EvalItem) -> list[Explanation]:
    return list(asyncio.run(GoldExplanations().candidates(item)))


def test_gsm8k_items_are_typed_with_skills_primary_first(tmp_path: Path) -> None:
    file = _jsonl(tmp_path / "train.jsonl", GSM8K)
    data = load_dataset("gsm8k", file)
    assert [i.id for i in data.items] == ["gsm8k:1", "gsm8k:2", "gsm8k:3"]
    assert data.items[0] == EvalItem(
        id="gsm8k:1",
        dataset="gsm8k",
        question=GSM8K[0]["question"],
        answer="72",
        explanation="Natalia sold 48/2 = 24 clips in May.\n"
        "Natalia sold 48+24 = 72 clips altogether in April and May.",
        # fractions (half) is carried by one item of three, op:add by one too but later in
        # TAGS order; op:div by two; steps last.
        skills=(
            "skill:gsm8k/op:add",
            "skill:gsm8k/fractions",
            "skill:gsm8k/op:div",
            "skill:gsm8k/steps:2",
        ),
        source=f"{file}:1",
    )
    # what the solution does before its units (units:money is rarer than op:mul), steps last
    assert data.items[1].skills == tuple(
        f"skill:gsm8k/{t}"
        for t in ("rates", "op:mul", "op:div", "units:money", "units:time", "steps:2")
    )
    assert data.items[2].answer == "2160"  # "2,160": commas are not part of the number
    assert data.source == str(file)
    assert data.sha256 == hashlib.sha256(file.read_bytes()).hexdigest()
    assert data.skipped == ()
    # The learner answers each item by its primary skill (the REQUIRES edge so marked).
    learner = learner_items(data.kg)
    assert {i: learner[i].skill for i in learner} == {i.id: i.skills[0] for i in data.items}
    skill = data.kg.node("skill:gsm8k/rates")
    assert skill is not None and skill.properties["name"] == "Rates"


def test_every_gsm8k_tag_has_a_readable_skill() -> None:
    assert set(GSM8K_SKILLS) == set(TAGS)
    assert all(name and len(desc.split()) >= 4 for name, desc in GSM8K_SKILLS.values())


def test_gsm8k_bad_record_names_file_line_field_and_fix(tmp_path: Path) -> None:
    bad = {"question": "How many?", "answer": "It is 3.\n#### three"}
    file = tmp_path / "train.jsonl"
    file.write_text(
        json.dumps(GSM8K[0]) + "\n\n" + json.dumps(bad) + "\n{not json\n" + json.dumps(GSM8K[1]),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_dataset("gsm8k", file)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(file), 3, "answer")
    assert "'#### N'" in str(caught.value) and "--skip-bad" in str(caught.value)
    data = load_dataset("gsm8k", file, skip_bad=True)
    assert [i.id for i in data.items] == ["gsm8k:1", "gsm8k:5"]  # ids keep their lines
    assert data.skipped == (
        BadRecord(
            str(file),
            3,
            "field 'answer': the solution does not end in '#### <number>' (found 'three')",
        ),
        BadRecord(
            str(file),
            4,
            "not valid JSON: Expecting property name enclosed in double quotes (column 2)",
        ),
    )


def test_limit_keeps_the_first_good_items_and_the_data_folder_resolves(tmp_path: Path) -> None:
    (tmp_path / "gsm8k").mkdir()
    _jsonl(tmp_path / "gsm8k" / "train.jsonl", GSM8K)
    data = load_dataset("gsm8k", tmp_path, limit=2)
    assert [i.id for i in data.items] == ["gsm8k:1", "gsm8k:2"]
    assert {n.id for n in data.kg.match("Item")} == {"gsm8k:1", "gsm8k:2"}
    with pytest.raises(ConfigError, match=r"strategyqa/train\.json is not in the data folder"):
        load_dataset("strategyqa", tmp_path)
    with pytest.raises(ConfigError, match=r"nope\.jsonl: no such file; pass the gsm8k file"):
        load_dataset("gsm8k", tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="did you mean 'gsm8k'"):
        load_dataset("gsm8", tmp_path)
    with pytest.raises(UserError, match="limit"):
        load_dataset("gsm8k", tmp_path, limit=-1)


def test_strategyqa_items_skills_and_record_lines(tmp_path: Path) -> None:
    file = _json(tmp_path / "train.json", STRATEGYQA)
    data = load_dataset("strategyqa", file)
    assert data.items == (
        EvalItem(
            id="strategyqa:q1",
            dataset="strategyqa",
            question=STRATEGYQA[0]["question"],  # type: ignore[arg-type]
            answer="yes",
            options=("yes", "no"),
            explanation="Julius Caesar had three children. Genghis Khan had sixteen children.",
            skills=("skill:strategyqa/q1",),
            source=f"{file}:2",
        ),
        EvalItem(
            id="strategyqa:q2",
            dataset="strategyqa",
            question="Would kaffir lime be good in a White Russian?",
            answer="no",
            options=("yes", "no"),
            explanation="A White Russian contains cream. Lime curdles cream.",
            skills=("skill:strategyqa/q2",),
            source=f"{file}:19",
        ),
    )
    skill = data.kg.node("skill:strategyqa/q1")
    assert skill is not None and skill.properties == {
        "name": "Genghis Khan",
        "description": "How many kids did Julius Caesar have? How many kids did Genghis Khan "
        "have? Is greater than ?",
    }
    bad = [STRATEGYQA[0], {**STRATEGYQA[1], "answer": "no"}]
    with pytest.raises(ConfigError) as caught:
        load_dataset("strategyqa", _json(tmp_path / "bad.json", bad))
    assert (caught.value.line, caught.value.field) == (19, "answer")
    assert "JSON boolean" in str(caught.value)
    twice = load_dataset(
        "strategyqa", _json(tmp_path / "twice.json", [STRATEGYQA[0]] * 2), skip_bad=True
    )
    assert twice.skipped == (
        BadRecord(
            str(tmp_path / "twice.json"),
            19,
            "field 'qid': duplicate id 'strategyqa:q1': already on line 2",
        ),
    )
    broken = tmp_path / "broken.json"
    broken.write_text('[\n {"qid": "q1"},\n {"qid": \n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_dataset("strategyqa", broken, skip_bad=True)  # no record boundary to skip to
    assert caught.value.line == 4 and "not valid JSON" in str(caught.value)


def test_ecqa_rows_span_lines_and_a_wrong_answer_names_its_row(tmp_path: Path) -> None:
    file = tmp_path / "cqa.csv"
    file.write_text(ECQA_HEADER + ECQA_ROWS, encoding="utf-8")
    data = load_dataset("ecqa", file)
    assert data.items[1] == EvalItem(
        id="ecqa:b2",
        dataset="ecqa",
        question="Where do cars usually travel at very high speeds?\n"
        "Choices: freeway; road; race track; alley; parking lot",
        answer="race track",
        options=("freeway", "road", "race track", "alley", "parking lot"),
        explanation="Racers compete on the race track at high speed.",
        skills=("skill:ecqa/b2",),
        source=f"{file}:4",  # row 1 spans lines 2-3
    )
    wrong = ECQA_ROWS.replace("parking lot,race track,", "parking lot,racetrack,")
    file.write_text(ECQA_HEADER + wrong, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_dataset("ecqa", file)
    assert (caught.value.line, caught.value.field) == (4, "q_ans")
    assert [i.id for i in load_dataset("ecqa", file, skip_bad=True).items] == ["ecqa:a1"]
    file.write_text(ECQA_HEADER + ECQA_ROWS + "2,c3,cat,Where?,a,b\n", encoding="utf-8")
    assert load_dataset("ecqa", file, skip_bad=True).skipped == (
        BadRecord(str(file), 5, "6 fields, but the header has 13 columns"),
    )
    file.write_text(ECQA_HEADER.replace("taskB", "explanation") + ECQA_ROWS, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cqa.csv:1: the CSV header lacks the column\(s\) taskB"):
        load_dataset("ecqa", file)


def test_sample_is_the_builtin_curriculum() -> None:
    data = load_dataset("sample")
    assert [i.id for i in data.items] == [
        "item:frac-add-1", "item:frac-add-2", "item:frac-sub-1", "item:frac-mul-1",
        "item:eq-1", "item:eq-2", "item:eq-3",
    ]  # fmt: skip
    assert data.items[4] == EvalItem(
        id="item:eq-1",
        dataset="sample",
        question="Solve for x: x + 5 = 12",
        answer="7",
        skills=("skill:one_step_equations",),
        source="curriculum.yaml:79",
    )
    assert set(learner_items(data.kg)) == {i.id for i in data.items}
    assert data.source is None and len(data.sha256) == 64
    assert len(load_dataset("sample", limit=2).items) == 2
    with pytest.raises(UserError, match="no gold explanation"):
        _gold(data.items[0])


def test_gold_explanations_give_gsm8k_first_sentence_only(tmp_path: Path) -> None:
    gsm = load_dataset("gsm8k", _jsonl(tmp_path / "g.jsonl", GSM8K))
    assert [_gold(i) for i in gsm.items] == [
        [Explanation("Natalia sold 48/2 = 24 clips in May.", aim="gold")],
        [Explanation("Weng earns 12/60 = $0.2 per minute.", aim="gold")],
        [Explanation("It sells 1080*2 = 2,160 eggs.", aim="gold")],
    ]
    qa = load_dataset("strategyqa", _json(tmp_path / "s.json", STRATEGYQA))
    assert _gold(qa.items[1]) == [
        Explanation("A White Russian contains cream. Lime curdles cream.", aim="gold")
    ]
    assert first_sentence("Mr. Smith paid $1.50 each. He bought 3.") == "Mr."
    assert first_sentence("It costs 0.5 dollars. So 2 cost 1.") == "It costs 0.5 dollars."


def test_the_reading_model_reads_gold_facts_against_the_skills(tmp_path: Path) -> None:
    data = load_dataset("strategyqa", _json(tmp_path / "s.json", STRATEGYQA))
    model = ReadingModel(data.kg)
    reading = model.read(data.items[0].explanation or "")
    # graded: the facts cover part of what the skill (term, decomposition) says; the
    # decomposition alone most of it
    assert 0.05 < reading.teaches["skill:strategyqa/q1"] < 0.5
    assert reading.teaches.get("skill:strategyqa/q2", 0.0) == 0.0
    asked = model.read(" ".join(STRATEGYQA[0]["decomposition"])).teaches  # type: ignore[arg-type]
    assert asked == {"skill:strategyqa/q1": pytest.approx(0.867, abs=0.01)}
    gsm = load_dataset("gsm8k", _jsonl(tmp_path / "g.jsonl", GSM8K))
    teaches = ReadingModel(gsm.kg).read(_gold(gsm.items[1])[0].text).teaches
    assert set(teaches) == {"skill:gsm8k/units:time"}  # "minute"; "per" is a stopword


HARMFUL = [
    {
        "answer": "no",
        "gold_explanation": "A White Russian contains cream. Lime curdles cream.",
        "harmful_explanation": ["Lime does not curdle cream.", "A White Russian has juice."],
        "wrong_answer": "yes",
        "index": 1,
        "qid": "q2",
        "question": "Would kaffir lime be good in a White Russian?",
    }
]


def test_misleading_explanations_map_to_strategyqa_items(tmp_path: Path) -> None:
    misleading = MisleadingExplanations(_json(tmp_path / "harmful.json", HARMFUL))
    qa = load_dataset("strategyqa", _json(tmp_path / "s.json", STRATEGYQA))
    assert [misleading.covers(i) for i in qa.items] == [False, True]
    assert asyncio.run(misleading.candidates(qa.items[1])) == [
        Explanation("Lime does not curdle cream.", aim="misleading"),
        Explanation("A White Russian has juice.", aim="misleading"),
    ]
    with pytest.raises(UserError, match="covers 1 StrategyQA items: strategyqa:q2"):
        asyncio.run(misleading.candidates(qa.items[0]))
    bad = [HARMFUL[0], {**HARMFUL[0], "harmful_explanation": []}]
    with pytest.raises(ConfigError) as caught:
        MisleadingExplanations(_json(tmp_path / "bad.json", bad))
    assert (caught.value.line, caught.value.field) == (14, "harmful_explanation")


DATA = os.environ.get("LYCEUM_DATA_DIR")


def test_the_real_data_sets_load_clean() -> None:
    require(bool(DATA) and Path(DATA or "").is_dir(), "LYCEUM_DATA_DIR is not set")
    loaded = {name: load_dataset(name, DATA) for name in ("gsm8k", "strategyqa", "ecqa")}
    assert {
        name: (len(data.items), len(data.skipped), len({i.id for i in data.items}))
        for name, data in loaded.items()
    } == {
        "gsm8k": (7473, 0, 7473),
        "strategyqa": (2061, 0, 2061),
        "ecqa": (1090, 0, 1090),
    }
    for data in loaded.values():
        assert all(i.skills and i.explanation for i in data.items)
        assert set(learner_items(data.kg)) == {i.id for i in data.items}
    misleading = MisleadingExplanations(DATA)
    qa = {i.id for i in loaded["strategyqa"].items}
    assert len(misleading.by_item) == 12 and set(misleading.by_item) <= qa


SWEEPS = Path(__file__).resolve().parents[1] / "examples" / "sweeps"


def test_the_real_data_sweep_configs_are_valid() -> None:
    from agents.eval.tom_config import ToMConfig

    qa = ToMConfig.from_yaml(SWEEPS / "strategyqa_simulated.yaml")
    gsm = ToMConfig.from_yaml(SWEEPS / "gsm8k_simulated.yaml")
    assert (qa.dataset.name, qa.dataset.limit, qa.explanations.source) == (
        "strategyqa",
        200,
        "gold",
    )
    assert (gsm.dataset.name, gsm.explanations.misaligned) == ("gsm8k", "lowest_utility")
    assert qa.strategies == gsm.strategies == ToMConfig().strategies
