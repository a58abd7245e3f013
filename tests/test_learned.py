"""The learned decision models, offline: the text classifier, model files, the Bridge
model in the teacher mind, the MathDial loader and the telling detector, on made-up data
(tests/learned_fixtures.py). The real-data measurements are in test_learned_data.py."""

from __future__ import annotations

import json
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from agents import Runtime
from agents.cli import main as cli
from knowledge_graph.builders import sample_curriculum
from personas.learned import (
    BridgeExample,
    BridgeModel,
    MoveClassifier,
    SolutionFacts,
    TellingDetector,
    TextClassifier,
    conversation_text,
    load_bridge,
    load_mathdial,
)
from personas.learned.metrics import f1_gap_interval, macro_f1
from personas.learned.model_file import read_model_file, write_model_file
from personas.learned.text_classifier import C_GRID, _model, _vectorizer, choose_c, folds
from personas.moves import (
    BridgeDecision,
    ErrorType,
    Intention,
    Strategy,
    TeacherMove,
)
from personas.teacher import SimulatedTeacherMind
from protocols import Answer, ConfigError
from tests.learned_fixtures import bridge_records, teacher_graph, write_data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def bridge(data: Path) -> BridgeModel:
    return BridgeModel.train(load_bridge("train", data), seed=0)


def test_the_classifier_recomputes_what_scikit_learn_computes() -> None:
    texts = [f"{w} {n}" for w in ("add", "times", "minus") for n in range(8)] * 2
    labels = [t.split()[0] for t in texts]
    vectorizer = _vectorizer()
    model = _model(1.0, seed=0).fit(vectorizer.fit_transform(texts), labels)
    ours = TextClassifier.of(vectorizer, model)
    queries = ["add 3", "times times 9", "minus", "nothing known"]
    expected = model.predict_proba(vectorizer.transform(queries))
    np.testing.assert_allclose(ours.proba(queries), expected, atol=1e-12)
    assert ours.predict(queries)[:3] == ["add", "times", "minus"]


def test_the_bootstrap_scores_macro_f1_as_scikit_learn_does() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    for _ in range(100):
        n, k = int(rng.integers(1, 30)), int(rng.integers(1, 5))
        gold, predicted = rng.integers(0, k, n), rng.integers(0, k, n)
        expected = f1_score(gold, predicted, average="macro", zero_division=0)
        assert macro_f1(gold, predicted, k)[0] == pytest.approx(expected, abs=1e-12)
    gold = ["a"] * 20 + ["b"] * 20
    low, high = f1_gap_interval(gold, gold, ["a"] * 40, resamples=500)
    assert 0.5 < low < 2 / 3 < high < 0.8  # 1.0 against 1/3 on the full sample
    grouped = f1_gap_interval(gold, gold, ["a"] * 40, groups=[i // 20 for i in range(40)])
    assert grouped == pytest.approx((0.0, 1.0))  # all "a" (gap 0), all "b" (gap 1), or both


def test_two_classes_become_a_softmax_of_the_sigmoid() -> None:
    texts = ["yes please", "yes sure", "no thanks", "no way"] * 3
    labels = [t.split()[0] for t in texts]
    vectorizer = _vectorizer()
    model = _model(1.0, seed=0).fit(vectorizer.fit_transform(texts), labels)
    ours = TextClassifier.of(vectorizer, model)
    expected = model.predict_proba(vectorizer.transform(["yes", "no", "what"]))
    np.testing.assert_allclose(ours.proba(["yes", "no", "what"]), expected, atol=1e-12)


def test_c_is_chosen_as_scikit_learns_grid_search_chooses_it(data: Path) -> None:
    """Our fold loop (TF-IDF fitted per fold, warm-started C path) agrees with
    ``GridSearchCV`` over a ``Pipeline`` on the same folds."""
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    examples = load_bridge("train", data)
    texts, errors = [e.text for e in examples], [e.decision.error_type.value for e in examples]
    search = GridSearchCV(
        make_pipeline(_vectorizer(), _model(1.0, seed=0)),
        {"logisticregression__C": list(C_GRID)},
        scoring=make_scorer(f1_score, average="macro", zero_division=0),
        cv=folds(0),
    ).fit(texts, errors)
    assert choose_c(texts, errors, seed=0) == pytest.approx(
        (search.best_params_["logisticregression__C"], search.best_score_), abs=1e-9
    )


def test_later_heads_read_the_earlier_heads(bridge: BridgeModel) -> None:
    heads = (bridge.error_type, bridge.strategy, bridge.intention)
    assert [h.n_extra for h in heads] == [0, 7, 7 + 11]  # error types, then strategies
    assert [round(h.cv_macro_f1, 3) for h in heads] == [0.867, 0.867, 0.867]


def test_the_bridge_model_learns_the_made_up_data(data: Path, bridge: BridgeModel) -> None:
    validation = load_bridge("validation", data)
    scores = bridge.evaluate(validation, load_bridge("train", data))
    assert [(s.name, s.accuracy, s.macro_f1) for s in scores] == [
        ("error_type", 1.0, 1.0),
        ("strategy", 1.0, 1.0),
        ("intention", 1.0, 1.0),
    ]
    assert [round(s.baseline_macro_f1, 3) for s in scores] == [0.167] * 3  # 1/3 right, 3 codes
    assert all(s.beats_baseline for s in scores)
    assert bridge.predict("tutor: Next question.\nstudent: no idea") == BridgeDecision(
        error_type=ErrorType.GUESS,
        strategy=Strategy.ASK_QUESTION,
        intention=Intention.DIAGNOSE_MISTAKE,
    )
    excluded = bridge.predict("student: no idea", exclude=[Strategy.ASK_QUESTION])
    assert excluded.strategy != "ask_question"


def test_a_saved_model_loads_back_to_the_same_predictions(
    bridge: BridgeModel, tmp_path: Path
) -> None:
    path = bridge.save(tmp_path / "bridge.npz")
    loaded = BridgeModel.load(path)
    texts = [e.text for e in (*load_bridge_examples(),)]
    assert [loaded.predict(t) for t in texts] == [bridge.predict(t) for t in texts]
    for mine, theirs in zip(
        (bridge.error_type, bridge.strategy, bridge.intention),
        (loaded.error_type, loaded.strategy, loaded.intention),
        strict=True,
    ):
        np.testing.assert_array_equal(mine.proba(texts), theirs.proba(texts))
        assert (theirs.classes, theirs.vocabulary, theirs.c) == (
            mine.classes,
            mine.vocabulary,
            mine.c,
        )
    with zipfile.ZipFile(path) as archive:  # arrays and a JSON header, nothing pickled
        assert all(name.endswith(".npy") for name in archive.namelist())


def load_bridge_examples() -> list[BridgeExample]:
    records = bridge_records(6, offset=100)
    return [
        BridgeExample(
            r["c_id"],
            "fractions",
            tuple((t["user"], t["text"]) for t in r["c_h"]),
            BridgeDecision.from_annotation(r["e"], r["z_what"], r["z_why"]),
        )
        for r in records
    ]


def test_a_missing_model_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        BridgeModel.load(tmp_path / "none.npz")
    assert str(caught.value) == (
        f"{tmp_path / 'none.npz'}: no bridge-decisions model here; build it with "
        "`lyceum models build --data DIR` (or `make models`)"
    )


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (lambda p: p.write_bytes(b"not a zip at all"), "not a readable model file"),
        (lambda p: p.write_bytes(b""), "not a readable model file"),
        (lambda p: np.savez(p, x=np.array([1.0])), "not a usable model file (no lyceum-model"),
        (
            lambda p: np.savez(p, __header__=np.array([{"a": 1}], dtype=object)),
            "not a readable model file (Object arrays cannot be loaded when allow_pickle=False)",
        ),
    ],
)
def test_a_corrupt_model_file_is_refused_clearly(
    write: object, problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.npz"
    write(path)  # type: ignore[operator]
    with pytest.raises(ConfigError, match="delete it and build it with `lyceum models build") as e:
        BridgeModel.load(path)
    assert str(e.value).startswith(f"{path}: {problem}")


def test_a_truncated_or_mismatched_model_file_is_refused(
    bridge: BridgeModel, tmp_path: Path
) -> None:
    good = bridge.save(tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ConfigError, match="not a readable model file"):
        BridgeModel.load(tmp_path / "cut.npz")
    with pytest.raises(ConfigError, match="is a 'bridge-decisions' model, not a 'mathdial-moves'"):
        MoveClassifier.load(tmp_path / "good.npz")
    arrays = {k: v for k, v in np.load(tmp_path / "good.npz").items() if k != "__header__"}
    arrays["strategy.coef"] = arrays["strategy.coef"][:, :5]
    write_model_file(tmp_path / "shape.npz", "bridge-decisions", {}, arrays)
    with pytest.raises(ConfigError, match="the arrays of 'strategy' do not fit together"):
        BridgeModel.load(tmp_path / "shape.npz")
    header = json.loads(str(np.load(tmp_path / "good.npz")["__header__"]))
    np.savez(tmp_path / "old.npz", __header__=np.array(json.dumps({**header, "version": 0})))
    with pytest.raises(ConfigError, match="format version 0, this lyceum reads version 1"):
        read_model_file(tmp_path / "old.npz", "bridge-decisions")


def test_without_scikit_learn_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from personas.learned.sklearn_import import sklearn

    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)
    with pytest.raises(ImportError, match=r"pip install 'lyceum\[learn\]'"):
        sklearn("metrics")


async def test_the_teacher_plans_with_the_models_decision(bridge: BridgeModel) -> None:
    """With a model, the Plan's bridge_decision is the model's prediction on the
    conversation, the move follows from its strategy, and the rationale says so; the
    same answer under the rule table gets the table's decision."""
    kg = sample_curriculum()

    async def first_reply(mind: SimulatedTeacherMind) -> list[object]:
        answer = Answer(to="teacher", text="2/9", item_id="item:frac-add-1")
        result = await Runtime().run(teacher_graph(mind), answer)
        return [m.content() for m in result.messages[2:4]]

    assert conversation_text([("student", "2/9")]) == "student: 2/9"
    assert bridge.predict("student: 2/9").strategy == "provide_hint"
    remedy = str(kg.node("explanation:x-common-denominator").properties["text"])  # type: ignore[union-attr]
    calculator = {"tool": "calculator", "arguments": {"code": "Fraction(1, 3) + Fraction(1, 6)"}}
    assert await first_reply(SimulatedTeacherMind(kg, decisions=bridge)) == [
        {
            "kind": "plan",
            "calls": [
                calculator,
                {
                    "tool": "bridge_decision",
                    "arguments": {
                        "error_type": "careless",
                        "strategy": "provide_hint",
                        "intention": "hint_mistake",
                    },
                },
                {"tool": "teacher_moves", "arguments": {"move": "focus"}},
            ],
            "rationale": "careless → provide_hint → hint_mistake; move focus; "
            "decided by the Bridge model",
        },
        {"kind": "hint", "text": remedy, "item_id": "item:frac-add-1"},
    ]
    ruled = await first_reply(SimulatedTeacherMind(kg))
    assert ruled[0]["rationale"] == (  # type: ignore[index]
        "other → explain_concept → clarify_misunderstanding; move focus; decided by the rule table"
    )
    assert ruled[1]["kind"] == "explanation"  # type: ignore[index]


def test_the_mathdial_loader_types_every_turn(data: Path) -> None:
    dialogues = load_mathdial(data)
    assert len(dialogues) == 15
    first = dialogues[0]
    assert (first.qid, first.line) == ("1000", 1)
    assert [(t.speaker, t.move) for t in first.turns[:3]] == [
        ("teacher", TeacherMove.PROBING),
        ("student", None),
        ("teacher", TeacherMove.FOCUS),
    ]
    assert first.turns[0].text == "How did you get 4?"  # the move tag is not in the text


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "2: not valid JSON: Expecting value (column 1)"),
        ('{"qid": 1}', "2: field 'question': expected text, got NoneType"),
        (
            json.dumps(
                {
                    "qid": 1,
                    "question": "q",
                    "ground_truth": "1",
                    "student_incorrect_solution": "2",
                    "conversation": "Teacher: (lecturing)Listen.|EOM|Student: ok",
                }
            ),
            "2: field 'conversation turn 1': a teacher turn must start with one of (focus), "
            "(probing), (telling), (generic); got 'Teacher: (lecturing)Listen.'",
        ),
    ],
)
def test_a_bad_mathdial_line_names_the_file_and_line(
    line: str, problem: str, tmp_path: Path
) -> None:
    from tests.learned_fixtures import mathdial_lines

    path = tmp_path / "dev.jsonl"
    path.write_text(mathdial_lines(1)[0] + "\n" + line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_mathdial(path=path)
    assert str(caught.value) == f"{path}:{problem}"


def test_the_telling_detector_counts_new_solution_numbers_only() -> None:
    facts = SolutionFacts.of(
        "Julia has 12 spoons and used 3. Her husband gave 5. How many did she buy?",
        "12+3=15 spoons.\nSo 15-5=10 spoons.\n 10",
    )
    assert facts == SolutionFacts(
        Fraction(10), frozenset({Fraction(15), Fraction(10)}), facts.givens
    )
    detector = TellingDetector(facts)
    assert detector.check("She bought 10 spoons.").reveals_answer
    step = detector.check("Add them: that makes 15 in all.")
    assert (step.tells, step.reveals_answer, step.revealed) == (
        True,
        False,
        frozenset({Fraction(15)}),
    )
    assert not detector.check("You need to add, not subtract.").tells  # words only
    assert not detector.check("She had 12 and used 3.").tells  # givens
    assert not detector.check("Yes, 15!", said_before=["I get 15"]).tells  # the student's
    assert detector.check("It is 1,000 or 10.0?").revealed == {Fraction(10)}


def row(lines: list[str], first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in lines:
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in {lines}")


def test_lyceum_models_build_then_show(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "models"
    built = CliRunner().invoke(cli, ["models", "build", "--data", str(data), "--out", str(out)])
    assert built.exit_code == 0, built.output
    assert sorted(p.name for p in out.iterdir()) == ["bridge-decisions.npz", "mathdial-moves.npz"]
    lines = built.output.splitlines()
    assert row(lines, "error_type") == [
        *("error_type", "9", "1.000", "1.000", "guess", "0.333", "0.167"),
        "+0.643 to +0.933",
    ]
    assert row(lines, "move") == [
        *("move", "60", "1.000", "1.000", "probing", "0.250", "0.100"),
        "+0.900 to +0.900",
    ]
    assert row(lines, "reveals the final answer") == [
        *("reveals the final answer", "60", "15", "15", "1.000", "1.000")
    ]
    assert "MathDial moves: outer fold 5, choosing C on 48 turns" in built.output
    assert MoveClassifier.load(out / "mathdial-moves.npz").predict("Great job!") == "generic"
    shown = CliRunner().invoke(cli, ["models", "show", "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    assert [line for line in shown.output.splitlines() if "│ error_type" in line] == [
        line for line in lines if "│ error_type" in line
    ]
    no_data = CliRunner().invoke(
        cli, ["models", "build", "--out", str(out)], env={"LYCEUM_DATA_DIR": None}
    )
    assert (no_data.exit_code, no_data.output) == (
        2,
        "error: no data folder: pass --data (data_dir=) or set LYCEUM_DATA_DIR to the folder "
        "that holds bridge/\n",
    )
    missing = CliRunner().invoke(cli, ["models", "show", "--out", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "no bridge-decisions model here; build it with `lyceum models build" in missing.output
