"""Conceptual tools for planning: MathDial moves, Bridge decisions, CBT techniques."""

from __future__ import annotations

import json
import os
from pathlib import Path

from personas.moves import (
    BridgeDecision,
    BridgeGuidance,
    ErrorType,
    Intention,
    MoveGuidance,
    Strategy,
    TeacherMove,
    bridge_tool,
    cbt_tool,
    moves_tool,
)
from personas.tools import ToolRegistry

from .conftest import require


async def test_the_planning_tools_answer_with_guidance() -> None:
    tools = ToolRegistry([moves_tool(), bridge_tool(), cbt_tool()])
    assert tools.names() == ["bridge_decision", "cbt_technique", "teacher_moves"]
    probing = (await tools.get("teacher_moves")(move="probing")).output
    assert isinstance(probing, MoveGuidance)
    assert probing.move is TeacherMove.PROBING and "reasoning" in probing.guidance
    decided = (
        await tools.get("bridge_decision")(
            error_type="right-idea", strategy="provide_hint", intention="hint_mistake"
        )
    ).output
    assert isinstance(decided, BridgeGuidance)
    assert decided.decision == BridgeDecision(
        error_type=ErrorType.RIGHT_IDEA,
        strategy=Strategy.PROVIDE_HINT,
        intention=Intention.HINT_MISTAKE,
    )
    assert "last step" in decided.guidance
    shouting = await tools.get("teacher_moves")(move="shouting")
    assert (shouting.output, shouting.error) == (
        None,
        "invalid arguments for 'teacher_moves' (move: Input should be 'focus', 'probing', "
        "'telling' or 'generic'); its arguments are: move",
    )


def taxonomy() -> dict[str, list[str]]:
    data = os.environ.get("LYCEUM_DATA_DIR")
    require(bool(data), "LYCEUM_DATA_DIR is not set to the evaluation data folder")
    raw = json.loads((Path(data or "") / "bridge" / "taxonomy.json").read_text())
    return {
        key: [entry["value"] for entry in raw[key]]
        for key in ("MISCONCEPTIONS", "REVISION_STRATEGIES", "INTENTIONS")
    }


def test_the_codes_follow_the_bridge_taxonomy() -> None:
    codes = taxonomy()
    assert [e.value for e in ErrorType] == codes["MISCONCEPTIONS"]
    assert [s.value for s in Strategy] == codes["REVISION_STRATEGIES"]
    assert [i.value for i in Intention] == codes["INTENTIONS"]


def test_every_annotated_bridge_decision_reads_into_the_types() -> None:
    taxonomy()  # skips or fails like the others without data
    data = Path(os.environ["LYCEUM_DATA_DIR"]) / "bridge"
    decisions = [
        BridgeDecision.from_annotation(record["e"], record["z_what"], record["z_why"])
        for split in ("train.json", "validation.json")
        for record in json.loads((data / split).read_text())
    ]
    assert len(decisions) == 419 + 71
    with_notes = [d for d in decisions if d.notes]
    assert len(with_notes) == 53  # free text where "other" was meant (11% of decisions)
    assert "Provided a visual aid" in {n for d in with_notes for n in d.notes}
    common = {d.strategy for d in decisions}
    assert {Strategy.ASK_QUESTION, Strategy.EXPLAIN_CONCEPT} <= common
