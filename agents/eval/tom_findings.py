"""The findings of a theory-of-mind sweep, as Markdown: each check the issue asks the
default sweep to show, with its numbers and whether it held, and where expected utility
and least confidence choose differently. A check that fails is reported as failing: the
text states what was measured, never a hoped-for result."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import stats

from agents.eval.analysis import CurvePoint, Sweep, estimate
from agents.eval.effects import Estimate
from agents.eval.strategies import GENERIC, ranking

__all__ = ["write_findings"]


def _ci(e: Estimate | CurvePoint, sign: bool = False) -> str:
    f = "+.3f" if sign else ".3f"
    return f"{e.mean:{f}} [{e.low:{f}}, {e.high:{f}}]"


def _verdict(ok: bool) -> str:
    return "**holds**" if ok else "**does not hold**"


def _inner(budgets: Sequence[float]) -> list[float]:
    return [b for b in budgets if 0 < b < 1]


def _check_random(sweep: Sweep, budgets: Sequence[float]) -> str:
    wanted = [b for b in (0.2, 0.4) if b in budgets]
    if not wanted:
        return "- expected_utility vs random at .2 and .4: those budgets were not run."
    parts, ok = [], True
    for b in wanted:
        eu, rnd = sweep.point("expected_utility", b), sweep.point("random", b)
        ok &= eu.low > rnd.high
        parts.append(f"B = {b:g}: expected_utility {_ci(eu)}, random {_ci(rnd)}")
    return (
        f"- expected_utility above random with non-overlapping 95% CIs at .2 and .4: "
        f"{_verdict(ok)}. " + "; ".join(parts) + "."
    )


def _check_order(
    sweep: Sweep, a: str, b: str, budgets: Sequence[float], what: str, strict: bool = False
) -> str:
    """``a`` ≥ ``b`` (``strict``: >) in mean at every budget, with the paired differences."""
    rows = [(x, sweep.difference(a, b, x)) for x in budgets]
    ok = bool(rows) and all(d.mean > 0 if strict else d.mean >= -1e-12 for _, d in rows)
    cells = ", ".join(f"{x:g}: {_ci(d, True)}" for x, d in rows)
    return f"- {what}: {_verdict(ok)}. {a} − {b} per budget (paired by seed): {cells}."


def _expected(sweep: Sweep, budgets: Sequence[float]) -> str:
    """The oracle ranks by the *expected* utility of the text; the same comparison on
    expected accuracy (each answer's exact P(correct)) has no sampling noise."""
    rows = [(x, sweep.difference("oracle", "expected_utility", x, "p")) for x in budgets]
    ok = all(d.mean >= -1e-12 for _, d in rows)
    cells = ", ".join(f"{x:g}: {_ci(d, True)}" for x, d in rows)
    return (
        f"  - the same on expected accuracy (the students' exact P(correct), free of the "
        f"sampling noise of their answers): {_verdict(ok)}. {cells}."
    )


def _check_below(sweep: Sweep, budgets: Sequence[float]) -> str:
    rows = [(x, sweep.difference("misaligned", "none", x)) for x in budgets if x > 0]
    ok = bool(rows) and all(d.mean < 0 for _, d in rows)
    separated = [x for x, d in rows if d.high < 0]
    cells = ", ".join(f"{x:g}: {_ci(d, True)}" for x, d in rows)
    return (
        f"- misaligned below none at every budget > 0: {_verdict(ok)}. misaligned − none "
        f"(paired): {cells}; the CI excludes 0 at "
        f"{', '.join(f'{x:g}' for x in separated) or 'no budget'}."
    )


def _check_multi(sweep: Sweep) -> str:
    gain = sweep.multi_gain()
    if gain is None:
        return "- positive multi-turn gain: not run (multi_turn: false)."
    ok = gain.low > 0
    return (
        f"- positive multi-turn gain: {_verdict(ok)} (CI above 0: {ok}). Accuracy on later "
        f"items with the explained items in context minus without: {_ci(gain, True)} "
        f"over {gain.n} seeds."
    )


def _differ(sweep: Sweep, budgets: Sequence[float]) -> str:
    """Where expected_utility and least_confidence pick different pairs."""
    inner = _inner(budgets)
    if not inner:
        return ""
    b = min(inner, key=lambda x: abs(x - 0.4))
    taus, shared = [], []
    only: dict[str, list[dict[str, float]]] = {"eu": [], "lc": []}
    who: dict[str, Counter[str]] = {"eu": Counter(), "lc": Counter()}
    what: dict[str, Counter[str]] = {"eu": Counter(), "lc": Counter()}
    for seed in sweep.seeds:
        sig = sweep.signals(seed)
        raw = sweep.signal[seed]
        k = math.floor(b * len(sig) + 1e-9)
        eu, lc = (
            set(ranking("expected_utility", sig)[:k]),
            set(ranking("least_confidence", sig)[:k]),
        )
        pairs = sorted(sig)
        u = [sig[p].u_hat for p in pairs]
        c = [-(sig[p].confidence or 0.0) for p in pairs]
        taus.append(float(stats.kendalltau(u, c)[0]))
        shared.append(len(eu & lc) / k if k else 1.0)
        for name, picked in (("eu", eu - lc), ("lc", lc - eu)):
            for p in picked:
                who[name].update([raw[p].get("profile") or "?"])
                what[name].update([p.split("/", 1)[-1]])
                only[name].append(
                    {
                        "right": float(bool(raw[p]["correct"])),
                        "utility": sig[p].utility,
                        "u_hat": sig[p].u_hat,
                        "confidence": sig[p].confidence or 0.0,
                        "diagnosed": float((raw[p].get("misconception_belief") or 0.0) > 0.5),
                    }
                )

    def describe(name: str) -> str:
        rows = only[name]
        if not rows:
            return "none"
        m = {f: float(np.mean([r[f] for r in rows])) for f in rows[0]}
        profiles = ", ".join(f"{k} {v}" for k, v in who[name].most_common())
        items = ", ".join(f"{k} {v}" for k, v in what[name].most_common())
        return (
            f"{len(rows)} pairs; {m['right']:.0%} answered right unexplained, "
            f"{m['diagnosed']:.0%} with a diagnosed misconception (P̂ > .5), mean "
            f"confidence {m['confidence']:.2f}, mean Û {m['u_hat']:+.3f}, mean true "
            f"utility {m['utility']:+.3f}; by profile: {profiles}; by item: {items}"
        )

    diffs = ", ".join(
        f"{x:g}: {_ci(sweep.difference('expected_utility', 'least_confidence', x), True)}"
        for x in inner
    )
    return (
        f"**Where expected_utility and least_confidence differ.** Kendall's tau between Û "
        f"and −confidence over each seed's pairs: {_ci(estimate(taus))}; at B = {b:g} their "
        f"top-⌊B·N⌋ sets share {_ci(estimate(shared))} of their pairs. Pairs only "
        f"expected_utility explains (all seeds): {describe('eu')}. Pairs only "
        f"least_confidence explains: {describe('lc')}. The accuracy difference "
        f"(expected_utility − least_confidence, paired) per budget: {diffs}."
    )


def write_findings(sweep: Sweep, strategies: Sequence[str], budgets: Sequence[float]) -> str:
    """The checks of issue 11 ("What it must show", item 1) with their numbers."""
    if not sweep.seeds:
        return "No results."
    have = set(strategies)
    lines = [
        f"Measured over {len(sweep.seeds)} seeds; each accuracy is a mean over seeds with "
        "its 95% Student-t interval.",
        "",
    ]
    if {"expected_utility", "random"} <= have:
        lines.append(_check_random(sweep, budgets))
    if {"expected_utility", "least_confidence"} <= have:
        lines.append(
            _check_order(
                sweep,
                "expected_utility",
                "least_confidence",
                budgets,
                "expected_utility ≥ least_confidence at every budget (means)",
            )
        )
    if {"oracle", "expected_utility"} <= have:
        lines.append(
            _check_order(
                sweep,
                "oracle",
                "expected_utility",
                budgets,
                "oracle ≥ expected_utility at every budget (means)",
            )
        )
        lines.append(_expected(sweep, budgets))
    if {"misaligned", "none"} <= have:
        lines.append(_check_below(sweep, budgets))
    if {"expected_utility", GENERIC} <= have:
        lines.append(
            _check_order(
                sweep,
                "expected_utility",
                GENERIC,
                [b for b in budgets if b > 0],
                "personalised above generic (expected_utility with personalised vs generic "
                "texts, at every budget > 0)",
                strict=True,
            )
        )
    lines.append(_check_multi(sweep))
    if {"expected_utility", "least_confidence"} <= have:
        lines += ["", _differ(sweep, budgets)]
    return "\n".join(lines).strip() + "\n"
