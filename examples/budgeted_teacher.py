"""Whom to explain to, under a budget: a teacher with a mental model vs random choice and
least confidence (Saha, Hase & Bansal, 2023), on SIMULATED students. Offline, seeded,
well under a minute. The figures describe the simulation (personas.minds), never LLMs.

1. The teacher fits its mental model on what it saw of 300 earlier students (seed 1).
2. A new class (100 students per seed, 5 seeds) answers every item once; the teacher sees
   the answers and the confidences.
3. Each student is then asked each item again. Once the question is posed, the teacher may
   give the item's explanation (the graph's Explanation that REMEDIATES the item's
   misconception) before the student answers; it may do so for ⌊B·N⌋ of the N
   (student, item) pairs. Who gets one: chosen at random; the least confident first (their
   confidence on that item); or the largest expected utility first, Û = P̂(correct | the
   student reads that text) − P̂(correct | nothing), from the mental model.
4. Accuracy of the second answers; mean over seeds, with a 95% t-interval.
"""

from __future__ import annotations

import copy
import random
import statistics
from collections import Counter

from scipy import stats

from knowledge_graph.builders import sample_curriculum
from personas import EstimatingMentalModel, ReadingModel, fit_mental_params, learner_items
from personas.minds.population import new_learner, taught_population

BUDGETS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
SEEDS = range(2, 7)
STUDENTS = 100

kg = sample_curriculum()
items = learner_items(kg)
reader = ReadingModel(kg)
texts = {}  # item -> the text of the Explanation that REMEDIATES its misconception
for item_id, item in sorted(items.items()):
    (mis,) = sorted(item.misconception_answers)
    (edge,) = kg.edges(mis, type="REMEDIATES", direction="in")
    node = kg.node(edge.source)
    assert node is not None
    texts[item_id] = str(node.properties["text"])

earlier = taught_population(kg, items, n=300, seed=1)
params = fit_mental_params([s.history for s in earlier], items, reader)


def one_class(seed: int) -> list[dict[str, object]]:
    """Every (student, item) pair: what each strategy knows, and both outcomes."""
    pairs: list[dict[str, object]] = []
    for i in range(STUDENTS):
        rng = random.Random(f"class:{seed}:{i}")
        learner = new_learner(items, rng)
        mind = EstimatingMentalModel(items, reader, params)
        first = {}
        for item_id in sorted(items):
            first[item_id] = learner.answer(items[item_id])
            mind.observe(item_id, first[item_id].text, first[item_id].confidence)
        beliefs = mind.misconceptions()
        for item_id, item in sorted(items.items()):
            outcomes = []
            for explain in (False, True):  # the same random stream for both
                copy_ = copy.deepcopy(learner)
                copy_.answer(item)  # the question is posed (the teacher does not see this)
                if explain:
                    copy_.study(reader.read(texts[item_id]))
                outcomes.append(copy_.answer(item).correct)
            (mis,) = item.misconception_answers
            pairs.append(
                {
                    "item": item_id,
                    "confidence": first[item_id].confidence,
                    "right first": first[item_id].correct,
                    "utility": mind.utility(item_id, texts[item_id]),
                    "diagnosed": beliefs[mis] > 0.5,
                    "none": outcomes[0],
                    "explained": outcomes[1],
                    "tiebreak": rng.random(),
                }
            )
    return pairs


def accuracy(pairs: list[dict[str, object]], order: list[int], budget: float) -> float:
    chosen = set(order[: int(budget * len(pairs))])
    return statistics.mean(
        float(bool(p["explained"] if k in chosen else p["none"])) for k, p in enumerate(pairs)
    )


def orders(pairs: list[dict[str, object]]) -> dict[str, list[int]]:
    idx = list(range(len(pairs)))
    key = lambda name: lambda k: (pairs[k][name], pairs[k]["tiebreak"])  # noqa: E731
    return {
        "random": sorted(idx, key=key("tiebreak")),
        "least confidence": sorted(idx, key=key("confidence")),
        "expected utility": sorted(idx, key=key("utility"), reverse=True),
    }


def interval(values: list[float]) -> str:
    mean = statistics.mean(values)
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return f"{mean:.3f} ± {half:.3f}"


classes = [one_class(seed) for seed in SEEDS]
print("SIMULATION: simulated students and a simulated teacher, not LLMs.")
print(
    f"mental model fitted on 300 earlier students: prior {params.prior:.2f}, "
    f"learn {params.learn:.2f}, slip {params.slip:.2f}, guess {params.guess:.2f}"
)
print(
    f"accuracy after explaining ⌊B·N⌋ of N = {len(classes[0])} (student, item) pairs, "
    f"mean ± 95% CI over {len(classes)} seeds"
)
header = ["random", "least confidence", "expected utility", "Û − least conf. (paired)"]
print("B    " + "  ".join(f"{h:<16}" for h in header))
for budget in BUDGETS:
    row: dict[str, list[float]] = {"random": [], "least confidence": [], "expected utility": []}
    for pairs in classes:
        for name, order in orders(pairs).items():
            row[name].append(accuracy(pairs, order, budget))
    gain = [u - c for u, c in zip(row["expected utility"], row["least confidence"], strict=True)]
    cells = [*row.values(), gain] if 0 < budget < 1 else list(row.values())
    print(f"{budget:.1f}  " + "  ".join(f"{interval(v):<16}" for v in cells).rstrip())

print("Û ranking vs confidence ranking (least confident first), at B = 0.4:")
taus: list[float] = []
overlaps: list[float] = []
only: dict[str, Counter[str]] = {"only Û picks": Counter(), "only confidence picks": Counter()}
for pairs in classes:
    utility = [float(p["utility"]) for p in pairs]  # type: ignore[arg-type]
    confidence = [-float(p["confidence"]) for p in pairs]  # type: ignore[arg-type]
    taus.append(stats.kendalltau(utility, confidence)[0])
    ranked = orders(pairs)
    k = int(0.4 * len(pairs))
    eu, lc = set(ranked["expected utility"][:k]), set(ranked["least confidence"][:k])
    overlaps.append(len(eu & lc) / k)
    for name, picked in (("only Û picks", eu - lc), ("only confidence picks", lc - eu)):
        for j in picked:
            only[name].update(["pairs"] + [f for f in ("diagnosed", "right first") if pairs[j][f]])
print(f"  Kendall tau {interval(taus)}; top-⌊B·N⌋ sets share {interval(overlaps)}")
for name, count in only.items():
    n = count["pairs"]
    print(
        f"  {name}: {n} pairs; {count['diagnosed'] / n:.0%} with a diagnosed misconception, "
        f"{count['right first'] / n:.0%} right on the first try"
    )
