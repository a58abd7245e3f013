"""Explanation sources from the data: the gold explanations and the misleading ones.

- ``GoldExplanations``: the data set's own explanation (the paper's "human teacher"):
  StrategyQA's facts, ECQA's free-text explanation, and for GSM8K only the **first
  sentence** of the worked solution, so that the answer does not leak (Saha et al., 2023).
- ``MisleadingExplanations``: the deliberately misleading explanations of
  ``explanation_intervention/harmful_explanations.json`` (12 StrategyQA questions, two each),
  for the misaligned teacher.

Both give texts, marked with what they are *meant* as (``aim``, for reports only): a
student or the teacher's mind reads the text, never the aim.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from agents.eval.base import EvalItem, Explanation
from agents.eval.formats import json_list_records, read_text
from agents.eval.records import Bad
from knowledge_graph.builders import data_file
from protocols import ConfigError, UserError

__all__ = ["MISLEADING_FILE", "GoldExplanations", "MisleadingExplanations", "first_sentence"]

MISLEADING_FILE = "explanation_intervention/harmful_explanations.json"

# A sentence ends at . ! or ? followed by a space and a capital, a digit or a currency sign
# (so "0.2" and "$1.50" do not end one), or at a line break (a GSM8K solution step).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$£€(])|\n")


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (a GSM8K solution's first step, at most)."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()


class GoldExplanations:
    """The data's gold explanation of each item, ``aim="gold"``; for GSM8K its first
    sentence only.

    Raises (from ``candidates``):
        UserError: The item has no gold explanation (the built-in sample curriculum has
            none: use the knowledge-graph explanations there).
    """

    async def candidates(self, item: EvalItem) -> Sequence[Explanation]:
        """The one gold explanation of ``item``."""
        if not item.explanation:
            raise UserError(
                f"item {item.id!r} ({item.dataset}) has no gold explanation; use the "
                "knowledge-graph explanations (explanations: kg) for this data set"
            )
        text = first_sentence(item.explanation) if item.dataset == "gsm8k" else item.explanation
        return [Explanation(text, aim="gold")]


class MisleadingExplanations:
    """The misleading explanations of StrategyQA questions, ``aim="misleading"``.

    Args:
        path: The ``harmful_explanations.json`` file or the data folder that holds it
            (default ``$LYCEUM_DATA_DIR``).

    Attributes:
        by_item: StrategyQA item id (``"strategyqa:<qid>"``) → its misleading explanations.
        source: The file read.

    Raises:
        ConfigError: The file is missing or a record is malformed (file, line, field).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        file = Path(path) if path is not None and Path(path).is_file() else None
        self.source = file or data_file(MISLEADING_FILE, path)
        self.by_item: Mapping[str, tuple[str, ...]] = load_misleading(self.source)

    def covers(self, item: EvalItem) -> bool:
        """Whether the file has misleading explanations for ``item``."""
        return item.id in self.by_item

    async def candidates(self, item: EvalItem) -> Sequence[Explanation]:
        """The misleading explanations of ``item``.

        Raises:
            UserError: The file has none for ``item`` (check ``covers`` first).
        """
        if item.id not in self.by_item:
            raise UserError(
                f"{self.source} has no misleading explanation for {item.id!r}; it covers "
                f"{len(self.by_item)} StrategyQA items: {', '.join(sorted(self.by_item))}"
            )
        return [Explanation(text, aim="misleading") for text in self.by_item[item.id]]


def load_misleading(path: Path) -> dict[str, tuple[str, ...]]:
    """StrategyQA item id → misleading explanations, from a ``harmful_explanations.json``
    (a list of objects with ``qid`` and ``harmful_explanation``, a list of texts).

    Raises:
        ConfigError: A malformed record, with file, line and field.
    """
    text, _ = read_text(path)
    found: dict[str, tuple[str, ...]] = {}
    for record in json_list_records(path, text):
        try:
            qid, texts = _misleading(record.value)
        except Bad as bad:
            raise ConfigError(
                f"{bad.reason}; {bad.fix}", path=str(path), line=record.line, field=bad.field
            ) from None
        found[f"strategyqa:{qid}"] = found.get(f"strategyqa:{qid}", ()) + texts
    return found


def _misleading(value: object) -> tuple[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise Bad(
            "expected a JSON object",
            "make each record an object with 'qid' and 'harmful_explanation'",
        )
    qid = value.get("qid")
    if not isinstance(qid, str) or not qid.strip():
        raise Bad(
            f"expected the StrategyQA qid, got {qid!r}", "copy the question's qid", field="qid"
        )
    texts = value.get("harmful_explanation")
    if isinstance(texts, str):
        texts = [texts]
    if (
        not isinstance(texts, list)
        or not texts
        or not all(isinstance(t, str) and t.strip() for t in texts)
    ):
        raise Bad(
            f"expected a list of explanation texts, got {texts!r}"[:100],
            "make 'harmful_explanation' a list of non-empty strings",
            field="harmful_explanation",
        )
    return qid.strip(), tuple(" ".join(t.split()) for t in texts)
