"""One record of a real data set checked and turned into an ``EvalItem`` (and its skill).

Each parser takes the decoded record, its ``"file:line"`` and its line, and returns the
item with the Skill node it needs (StrategyQA, ECQA), or with its GSM8K tags in ``skills``
(ordered and turned into node ids by the loader, which counts them over the data set). A
malformed record raises ``Bad``: what is wrong, the field, and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agents.eval.base import EvalItem
from agents.eval.skills import SkillSpec, ecqa_skill, strategyqa_skill
from knowledge_graph.builders import tag_solution

__all__ = ["Bad", "Parsed", "ecqa_item", "gsm8k_item", "strategyqa_item", "strip_annotations"]

Parsed = tuple[EvalItem, SkillSpec | None]
"""An item and the Skill node made for it (``None``: GSM8K, whose skills are shared tags)."""


class Bad(Exception):
    """A malformed record: what is wrong, how to fix it, and the field."""

    def __init__(self, reason: str, fix: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.field = field

    def message(self) -> str:
        """The reason, with the field where known (for ``BadRecord.reason``)."""
        return f"field '{self.field}': {self.reason}" if self.field else self.reason


def _object(record: Any, fields: str) -> Mapping[str, Any]:
    if not isinstance(record, dict):
        raise Bad(
            f"expected a JSON object, got {type(record).__name__}",
            f"make each record an object with {fields}",
        )
    return record


def _text(record: Mapping[str, Any], field: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        got = "nothing" if value is None else repr(value)[:60]
        raise Bad(
            f"expected non-empty text, got {got}", f"give the record a '{field}'", field=field
        )
    return value.strip()


def _texts(record: Mapping[str, Any], field: str) -> list[str]:
    value = record.get(field)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        got = "nothing" if value is None else repr(value)[:60]
        raise Bad(
            f"expected a non-empty list of strings, got {got}",
            f"make '{field}' a list of sentences",
            field=field,
        )
    return [" ".join(v.split()) for v in value]


_ANNOTATION = re.compile(r"<<[^<>]*>>")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def strip_annotations(solution: str) -> str:
    """A GSM8K solution as a reader sees it: the calculator annotations ``<<48/2=24>>``
    removed, the final ``#### N`` line dropped, one step per line."""
    work = _ANNOTATION.sub("", solution.split("####")[0])
    return "\n".join(line.strip() for line in work.splitlines() if line.strip())


def gsm8k_item(record: Any, source: str, line: int) -> Parsed:
    """A GSM8K problem: ``question`` and ``answer`` (the worked solution ending ``#### N``)."""
    fields = "'question' and 'answer' (a worked solution ending '#### N')"
    record = _object(record, fields)
    question = _text(record, "question")
    solution = _text(record, "answer")
    final = solution.rpartition("####")[2].strip() if "####" in solution else ""
    if not _NUMBER.fullmatch(final):
        raise Bad(
            f"the solution does not end in '#### <number>' (found {final[:40]!r})",
            "end the worked solution with a line '#### N', N its final number",
            field="answer",
        )
    answer = final.replace(",", "")
    explanation = strip_annotations(solution)
    item = EvalItem(
        id=f"gsm8k:{line}",
        dataset="gsm8k",
        question=question,
        answer=answer,
        explanation=explanation or None,
        skills=tuple(tag_solution(question, solution)),
        source=source,
    )
    return item, None


def strategyqa_item(record: Any, source: str, line: int) -> Parsed:
    """A StrategyQA question: ``qid``, ``question``, ``answer`` (true/false), ``facts`` (the
    gold explanation, joined) and ``decomposition`` (its skill); ``term`` names the skill."""
    record = _object(record, "'qid', 'question', 'answer', 'facts' and 'decomposition'")
    qid = _text(record, "qid")
    question = _text(record, "question")
    answer = record.get("answer")
    if not isinstance(answer, bool):
        raise Bad(
            f"expected true or false, got {answer!r}"[:80],
            "write the answer as a JSON boolean",
            field="answer",
        )
    facts = _texts(record, "facts")
    decomposition = _texts(record, "decomposition")
    term = record.get("term")
    skill = strategyqa_skill(qid, term if isinstance(term, str) else "", decomposition)
    item = EvalItem(
        id=f"strategyqa:{qid}",
        dataset="strategyqa",
        question=question,
        answer="yes" if answer else "no",
        options=("yes", "no"),
        explanation=" ".join(facts),
        skills=(skill.id,),
        source=source,
    )
    return item, skill


def ecqa_item(record: Any, source: str, line: int) -> Parsed:
    """An ECQA question: ``q_no`` (its id), ``q_concept``, ``q_text``, five choices
    ``q_op1``..``q_op5``, the right one ``q_ans`` and the free-text explanation ``taskB``."""
    qid = _text(record, "q_no")
    question = _text(record, "q_text")
    options = tuple(_text(record, f"q_op{i}") for i in range(1, 6))
    answer = str(record.get("q_ans", "")).strip()
    if answer not in options:
        raise Bad(
            f"the answer {answer!r} is not one of the choices {list(options)}",
            "make q_ans the text of one of q_op1..q_op5",
            field="q_ans",
        )
    explanation = " ".join(str(record.get("taskB", "")).split())
    skill = ecqa_skill(qid, str(record.get("q_concept", "")).strip(), question, answer)
    item = EvalItem(
        id=f"ecqa:{qid}",
        dataset="ecqa",
        question=f"{question}\nChoices: {'; '.join(options)}",
        answer=answer,
        options=options,
        explanation=explanation or None,
        skills=(skill.id,),
        source=source,
    )
    return item, skill
