"""The batched work behind ``TransformersClient``: one ``generate`` call for several
requests (each with its own grammar, stop strings and token limit) and one forward pass
for several ``score`` calls. Runs in a worker thread; torch is imported by the caller."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.models.base import ModelRequest, Usage
from protocols import UserError

__all__ = [
    "CHAT_FALLBACK_STOPS",
    "Loaded",
    "generate_batch",
    "json_grammar",
    "render_prompt",
    "score_batch",
]

CHAT_FALLBACK_STOPS = ("\nUser:", "\nSystem:", "\nAssistant:")
"""Where a base model's reply to a plain "Role: text" prompt ends: at the next turn it
starts to write by itself."""

SCORE_LOGITS_BUDGET = 2**26
"""Most logits (rows × kept positions × vocabulary) one scoring forward pass computes."""


def _uses_fallback(request: ModelRequest, tokenizer: Any) -> bool:
    if getattr(tokenizer, "chat_template", None):
        return False
    return not (len(request.messages) == 1 and request.messages[0].role == "user")


def render_prompt(request: ModelRequest, tokenizer: Any) -> str:
    """The text prompt for ``request``: the chat template if the tokenizer has one, else
    plain turns ("System: …", "User: …") ending with "Assistant:"; a single user turn with
    no system message is passed through unchanged (base models continue text)."""
    turns = [m.model_dump() for m in request.messages]
    if getattr(tokenizer, "chat_template", None):
        text: str = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        return text
    if not _uses_fallback(request, tokenizer):
        return str(turns[0]["content"])
    lines = [f"{t['role'].capitalize()}: {t['content']}" for t in turns]
    return "\n\n".join(lines) + "\n\nAssistant:"


def stops_for(request: ModelRequest, tokenizer: Any) -> tuple[str, ...]:
    """The stop strings of ``request``: its own, plus the next-turn markers of the plain
    chat fallback when that format is used and no schema constrains the reply."""
    stops = list(request.stop)
    if request.response_schema is None and _uses_fallback(request, tokenizer):
        stops += [s for s in CHAT_FALLBACK_STOPS if s not in stops]
    return tuple(stops)


@dataclass
class Loaded:
    """A loaded model: what the batched operations need."""

    torch: Any
    transformers: Any
    tokenizer: Any
    model: Any
    device: str
    eos_token_ids: list[int]
    constrain: bool | None = None  # TransformersClient(constrain=...)
    grammar: Any = None  # a JsonGrammar, made on the first structured request
    grammar_problem: str | None = None  # why this tokenizer cannot be constrained
    stop_criteria: dict[tuple[str, ...], Any] = field(default_factory=dict)

    def stop_criterion(self, stops: tuple[str, ...]) -> Any:
        """A ``StopStringCriteria`` for ``stops`` (built once: ~1 s for a large vocabulary)."""
        if stops not in self.stop_criteria:
            self.stop_criteria[stops] = self.transformers.StopStringCriteria(
                self.tokenizer, list(stops)
            )
        return self.stop_criteria[stops]


class _RowStops:
    """A stopping criterion per row: its own token limit and its own stop strings (each
    checked by ``transformers.StopStringCriteria``, so generation stops as soon as a stop
    string is written, not after ``max_tokens``)."""

    def __init__(self, lm: Loaded, width: int, limits: list[int], stops: list[tuple[str, ...]]):
        self.torch, self.width, self.limits = lm.torch, width, limits
        self.criteria = [lm.stop_criterion(s) if s else None for s in stops]

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        done = [input_ids.shape[1] - self.width >= limit for limit in self.limits]
        for i, criterion in enumerate(self.criteria):
            if criterion is not None and not done[i]:
                done[i] = bool(criterion(input_ids[i : i + 1], scores)[0])
        return self.torch.tensor(done, device=input_ids.device)


_log = logging.getLogger("agents.models.local")


def json_grammar(lm: Loaded) -> Any:
    """The model's ``JsonGrammar``, built on first use (seconds for a large vocabulary), or
    None when decoding is not to be constrained.

    With ``constrain=None`` (the default), a tokenizer the grammar library cannot read
    (llguidance needs a byte-level or SentencePiece vocabulary; a word-level one has no
    decoder it knows) is reported once as a warning, and structured replies are then
    generated unconstrained, validated and re-asked like a server's that ignores
    ``response_format``. With ``constrain=True`` it is a ``UserError``.

    Raises:
        UserError: ``constrain=True`` and the tokenizer cannot be constrained.
    """
    if lm.constrain is False:
        return None
    if lm.grammar is None and lm.grammar_problem is None:
        from agents.models.grammar import JsonGrammar

        width = lm.model.get_output_embeddings().weight.shape[0]
        try:
            lm.grammar = JsonGrammar(lm.tokenizer, width, lm.eos_token_ids)
        except (ValueError, TypeError, RuntimeError, KeyError) as exc:
            lm.grammar_problem = f"{type(exc).__name__}: {exc}"
            if lm.constrain is None:
                _log.warning(
                    "cannot constrain decoding with this tokenizer (%s); structured replies "
                    "are generated unconstrained, then validated and re-asked. Pass "
                    "constrain=False to silence this, or use a byte-level or SentencePiece "
                    "tokenizer.",
                    lm.grammar_problem,
                )
    if lm.grammar_problem is not None and lm.constrain:
        raise UserError(
            f"constrain=True, but decoding cannot be constrained with this tokenizer "
            f"({lm.grammar_problem}); llguidance needs a byte-level or SentencePiece "
            "vocabulary. Pass constrain=None to fall back to validation and re-asks."
        )
    return lm.grammar


def _matchers(lm: Loaded, requests: Sequence[ModelRequest]) -> list[Any] | None:
    if all(r.response_schema is None for r in requests):
        return None
    grammar = json_grammar(lm)
    if grammar is None:
        return None
    return [
        None if r.response_schema is None else grammar.matcher(r.response_schema) for r in requests
    ]


def generate_batch(
    lm: Loaded, requests: Sequence[ModelRequest], repetition_penalty: float | None = None
) -> list[tuple[str, Usage, str]]:
    """Generate for every request in one ``generate`` call: text, usage, finish reason."""
    torch, tok = lm.torch, lm.tokenizer
    prompts = [render_prompt(r, tok) for r in requests]
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=True).to(lm.device)
    width = enc["input_ids"].shape[1]
    limits = [r.max_tokens or 256 for r in requests]
    stops = [stops_for(r, tok) for r in requests]
    options: dict[str, Any] = {
        "max_new_tokens": max(limits),
        "pad_token_id": tok.pad_token_id,
        "eos_token_id": lm.eos_token_ids,
        "stopping_criteria": lm.transformers.StoppingCriteriaList(
            [_RowStops(lm, width, limits, stops)]
        ),
    }
    if repetition_penalty is not None:
        options["repetition_penalty"] = repetition_penalty
    matchers = _matchers(lm, requests)
    if matchers is not None:
        from agents.models.grammar import SchemaLogitsProcessor

        processor = SchemaLogitsProcessor(matchers, lm.eos_token_ids, tok.pad_token_id)
        options["logits_processor"] = lm.transformers.LogitsProcessorList([processor])
    temperature = max(r.temperature for r in requests)
    if temperature > 0:
        if requests[0].seed is not None:
            torch.manual_seed(requests[0].seed)
        options.update(do_sample=True, temperature=temperature)
    else:
        options.update(do_sample=False)
    with torch.no_grad():
        out = lm.model.generate(**enc, **options)
    results = []
    for i, limit in enumerate(limits):
        new = out[i, width:].tolist()[:limit]
        ends = [k for k, t in enumerate(new) if t in lm.eos_token_ids]
        finish = "length"
        if ends:
            new, finish = new[: ends[0]], "stop"
        while new and new[-1] == tok.pad_token_id:
            new.pop()
        # The EOS token was generated too, and is counted, as servers count it.
        generated = len(new) + (1 if ends else 0)
        text = tok.decode(new, skip_special_tokens=True)
        for stop in stops[i]:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
                if stop in CHAT_FALLBACK_STOPS:
                    text = text.rstrip()
        prompt_tokens = int(enc["attention_mask"][i].sum())
        results.append(
            (text, Usage(prompt_tokens=prompt_tokens, completion_tokens=generated), finish)
        )
    return results


def _encode_score(
    lm: Loaded, prompt: str, continuations: Sequence[str]
) -> list[tuple[list[int], int]]:
    tok = lm.tokenizer
    prefix = tok(prompt, add_special_tokens=True)["input_ids"]
    if not prefix:
        prefix = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
    return [
        (prefix + tok(c, add_special_tokens=False)["input_ids"], len(prefix)) for c in continuations
    ]


def score_batch(lm: Loaded, jobs: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
    """Score every job's continuations: the sum of each continuation's token log-probs.

    Rows are left-padded (position ids from the attention mask) so that all continuations
    end at the last position and only the last ``k`` positions' logits are computed. The
    continuations of one token (yes/no, a choice letter) of one prompt share a single row,
    the prompt alone: each is read off its last position, so the prompt is run once, not
    once per option."""
    rows: list[tuple[list[int], int]] = []
    reads: list[list[int]] = []  # per row: the tokens read off its last position
    where: list[tuple[int, int | None]] = []  # per continuation: its row, and its token
    shared: dict[tuple[int, ...], int] = {}
    for prompt, conts in jobs:
        for ids, prefix in _encode_score(lm, prompt, conts):
            if len(ids) - prefix != 1:
                where.append((len(rows), None))
                rows.append((ids, prefix))
                reads.append([])
                continue
            head = tuple(ids[:prefix])
            if head not in shared:
                shared[head] = len(rows)
                rows.append((list(head), prefix))
                reads.append([])
            reads[shared[head]].append(ids[prefix])
            where.append((shared[head], ids[prefix]))
    done: list[tuple[float, dict[int, float]]] = []
    vocab = lm.model.get_output_embeddings().weight.shape[0]
    start = 0
    while start < len(rows):
        keep = 1
        end = start
        while end < len(rows):
            need = max(keep, len(rows[end][0]) - rows[end][1] + 1)
            if end > start and (end - start + 1) * need * vocab > SCORE_LOGITS_BUDGET:
                break
            keep, end = need, end + 1
        done += _score_rows(lm, rows[start:end], keep, reads[start:end])
        start = end
    flat = [done[row][0] if token is None else done[row][1][token] for row, token in where]
    out, at = [], 0
    for _, conts in jobs:
        out.append(flat[at : at + len(conts)])
        at += len(conts)
    return out


def _score_rows(
    lm: Loaded, rows: list[tuple[list[int], int]], keep: int, reads: list[list[int]]
) -> list[tuple[float, dict[int, float]]]:
    torch = lm.torch
    width = max(len(ids) for ids, _ in rows)
    pad = lm.tokenizer.pad_token_id
    ids = torch.tensor([[pad] * (width - len(r)) + r for r, _ in rows], device=lm.device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r, _ in rows], device=lm.device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        logits = lm.model(
            input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep
        ).logits.float()
    logprobs = torch.log_softmax(logits, dim=-1)  # position j is width - keep + j
    scores = []
    for i, (row, prefix) in enumerate(rows):
        offset = width - len(row)
        total = 0.0
        for pos in range(prefix, len(row)):
            total += float(logprobs[i, offset + pos - 1 - (width - keep), row[pos]])
        scores.append((total, {t: float(logprobs[i, keep - 1, t]) for t in reads[i]}))
    return scores
