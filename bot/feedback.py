"""Rule-based feedback on written answers: STAR++ parts, checklist coverage, exact numbers.
No model weights: every verdict can be explained by the rule that produced it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.content import Drill, Framework, FrameworkStep, parse_number

_STOP = frozenset(
    """about above after again against also among answer because been before being between both
    could does doing down during each either every from further have having here into itself
    just like more most much must only other over same should some such than that their them
    then there these they this those through under until very what when where which while whom
    with would your yours whether without within across really""".split()
)

TOO_SHORT_WORDS = 60
TOO_LONG_WORDS = 650


@dataclass(frozen=True)
class PartCheck:
    key: str
    name: str
    present: bool
    tip: str


@dataclass(frozen=True)
class ItemCheck:
    item: str
    covered: bool


@dataclass(frozen=True)
class Grade:
    correct: bool
    given: float | None
    expected: float


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


@lru_cache(maxsize=512)
def _cue_pattern(cue: str) -> re.Pattern[str]:
    c = cue.lower().strip()
    if re.fullmatch(r"[\w' ]+", c):
        # Whole words only: "plan" must not match inside "explain".
        return re.compile(r"(?<![\w'])" + re.escape(c).replace(r"\ ", r"\s+") + r"(?![\w'])")
    return re.compile(re.escape(c))


def structure_check(answer: str, framework: Framework) -> list[PartCheck]:
    """Which steps of the framework the answer shows, by each step's cues."""
    low = answer.lower()
    return [
        PartCheck(
            step.key,
            step.name,
            any(_cue_pattern(c).search(low) for c in step.cues) or _labelled(low, step),
            step.tip,
        )
        for step in framework.steps
    ]


def _labelled(low: str, step: FrameworkStep) -> bool:
    """Members who write "Situation: ..." have clearly given that part."""
    names = {step.key.replace("-", " "), step.name.lower()}
    return any(re.search(rf"(?<![\w]){re.escape(n)}\s*:", low) for n in names)


def _keywords(text: str) -> set[str]:
    return {w[:6] for w in words(text) if len(w) >= 4 and w not in _STOP}


def checklist_coverage(answer: str, checklist: list[str]) -> list[ItemCheck]:
    """An item counts as covered when enough of its key words (by stem) appear in the answer."""
    said = _keywords(answer)
    out: list[ItemCheck] = []
    for item in checklist:
        keys = _keywords(item)
        if not keys:
            out.append(ItemCheck(item, False))
            continue
        hit = len(keys & said)
        out.append(ItemCheck(item, hit >= max(1, round(len(keys) * 0.4))))
    return out


def length_note(answer: str) -> str | None:
    n = len(words(answer))
    if n < TOO_SHORT_WORDS:
        return (
            f"At {n} words this is far too short to be convincing: a spoken answer runs about "
            "two minutes, roughly 200-350 words. Add the specifics: numbers, names of tools, "
            "what you yourself did."
        )
    if n > TOO_LONG_WORDS:
        return (
            f"At {n} words this would take over four minutes to say. Cut the set-up to two "
            "sentences and spend the time on your actions and the result."
        )
    return None


def grade_number(answer: str, drill: Drill) -> Grade:
    """Exact-answer grading: fractions, decimals and percentages, within the drill's tolerance.

    A rounded decimal such as 0.1667 or 16.7% for 1/6 passes; a different number does not."""
    assert drill.answer is not None
    expected = parse_number(drill.answer)
    assert expected is not None
    given = _first_number(answer)
    if given is None:
        return Grade(False, None, expected)
    tol = max(drill.tolerance * abs(expected), 1e-9)
    # Accept what rounding the exact value to 3 significant digits would give, too.
    rounded_ok = abs(given - expected) <= 0.5 * 10 ** (_magnitude(expected) - 2)
    return Grade(abs(given - expected) <= tol or rounded_ok, given, expected)


def _magnitude(x: float) -> int:
    import math

    return math.floor(math.log10(abs(x))) if x else 0


def _first_number(text: str) -> float | None:
    whole = parse_number(text)
    if whole is not None:
        return whole
    m = re.search(r"-?\d+(?:\.\d+)?\s*/\s*\d+(?:\.\d+)?|-?\d*\.?\d+(?:e-?\d+)?\s*%?", text, re.I)
    return parse_number(m.group(0)) if m else None
