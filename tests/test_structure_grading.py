"""Framework parts judged on what sentences do (issue 13): the issue's reproductions, the
feedback lines, length advice by track, and the grader's agreement with the labelled set."""

from __future__ import annotations

import pytest

from bench.feedback_eval import SPLITS, evaluate, load, overall
from bot.content import Content, get_content
from bot.features.drills.feedback import length_note, structure_check, suggestion

CUE_ONLY = (
    "At my last job we had a problem. My task was to fix it. I decided to fix it. As a result it "
    "was fixed. I learned a lot. Since then I always fix things."
)
NATURAL = (
    "Two years ago I was one of four engineers on the payments team at a mid-sized retailer, and "
    "checkout pages were timing out every Friday evening. Nobody owned performance, so I offered "
    "to find out why before the holiday sale, which was six weeks away. I pulled a week of "
    "traces, found that every page load made eleven calls to the pricing service, and wrote a "
    "small batching layer in front of it. I then ran a load test with the on-call engineer and "
    "rolled the change out one region at a time. That cut our latency by a fifth and the Friday "
    "timeouts disappeared before the sale. What stuck with me is that nobody looks at a problem "
    "everyone shares, so somebody has to claim it out loud. On my current team I now propose an "
    "owner for every shared dashboard in our planning meeting."
)
THREE_ACTIONS = (
    "Our release process took half a day. I automated the checklist with a script, added it to "
    "CI, and wrote a short guide for the team."
)


@pytest.fixture(scope="module")
def content() -> Content:
    return get_content()


def _present(content: Content, fw: str, answer: str) -> dict[str, bool]:
    return {p.key: p.present for p in structure_check(answer, content.frameworks[fw])}


def test_natural_story_has_every_part(content: Content) -> None:
    assert all(_present(content, "star", NATURAL).values())


def test_cue_phrases_without_substance_do_not_get_full_marks(content: Content) -> None:
    parts = structure_check(CUE_ONLY, content.frameworks["star"])
    assert sum(p.present for p in parts) <= 2
    # The member is told why: the part was named but said nothing.
    assert any(p.note and p.evidence for p in parts)


def test_three_explicit_actions_count_as_action(content: Content) -> None:
    assert _present(content, "star", THREE_ACTIONS)["action"]


def test_system_design_without_review_is_told(content: Content) -> None:
    answer = (
        "Assume 10 million daily users and 2,000 requests per second. Clients call an API "
        "service that writes to Postgres and reads through a Redis cache. I'd shard the posts "
        "table by user ID because one node cannot take the write load."
    )
    got = _present(content, "system-design", answer)
    assert got == {"clarify": True, "sketch": True, "refine": True, "review": False}


def test_offer_evaluation_ignoring_the_company_is_told(content: Content) -> None:
    answer = (
        "The role is a step up to senior and the first project builds the ML skills I want. "
        "The team is remote-first with a light on-call, and my manager gives weekly feedback."
    )
    got = _present(content, "offer-factors", answer)
    assert not got["strategy-health"] and got["career-fit"] and got["manager-team"]


def test_disclosing_current_pay_fails_protect_information(content: Content) -> None:
    told = "Thanks! I currently make 120k, so I'd need 140k. Could you get there?"
    kept = "Thanks! I'd rather not share a number yet; could you tell me the band for the role?"
    assert not _present(content, "negotiation", told)["protect-information"]
    assert _present(content, "negotiation", kept)["protect-information"]


def test_one_suggestion_names_the_weakest_part(content: Content) -> None:
    fw = content.frameworks["star"]
    answer = NATURAL.replace("That cut our latency by a fifth and the Friday", "The Friday")
    parts = structure_check(answer, fw)
    pick = suggestion(fw, parts)
    assert pick is not None
    assert pick[0].key == "result" and "size" in pick[1]


def test_length_advice_depends_on_the_track() -> None:
    crisp = " ".join(["word"] * 50)
    assert length_note(crisp, "negotiation") is None
    note = length_note(crisp, "behavioral")
    assert note is not None and "far too short" in note and "two minutes" in note
    assert length_note(" ".join(["word"] * 300), "negotiation") is not None


def _figures(split: str, content: Content) -> tuple[float, float | None, dict[str, float | None]]:
    tallies = evaluate(load(SPLITS[split]), content)
    tot = overall(tallies)
    return tot.accuracy, tot.missing_f1, {k: t.missing_f1 for k, t in tallies.items()}


@pytest.mark.parametrize("split", list(SPLITS))
def test_labelled_set_agreement(split: str, content: Content) -> None:
    acc, f1, _per_part = _figures(split, content)
    print(f"{split}: parts right {acc:.1%}, F1 of missing {f1}")
    assert acc >= 0.90
    assert f1 is not None and f1 >= 0.85


def test_missing_f1_on_each_part_over_the_whole_set(content: Content) -> None:
    tallies = evaluate([c for p in SPLITS.values() for c in load(p)], content)
    low = {k: t.missing_f1 for k, t in tallies.items() if (t.missing_f1 or 1.0) < 0.85}
    assert not low, low


def test_labelled_set_is_big_enough() -> None:
    sizes = {name: len(load(path)) for name, path in SPLITS.items()}
    assert sum(sizes.values()) >= 60 and sizes["held-out"] >= 20
