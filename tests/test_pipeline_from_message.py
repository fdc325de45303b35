"""A job post read into the add form's guess (bot/features/pipeline/from_message.py) on what a
shared message can hold at worst: the router passes up to 40,000 characters, and the guess is
made before Slack's 3 s trigger expires and before Discord's modal must open. Only the post's
first lines, each cut short, are read for the company and the role; its links anywhere."""

from __future__ import annotations

import time

from bot.features.pipeline.from_message import HEAD_LINES, LINE_CHARS, Posting, read_posting

SIZE = 40_000  # what the router lets through to a shortcut

# Texts that made the patterns backtrack in time growing with the square of a line's length
# (8,000 characters of one took 5 s), each at the size the router allows.
HOSTILE = {
    "capitalised run": " ".join(["Acme"] * SIZE)[:SIZE],
    "company before 'is hiring'": ("Acme " * SIZE)[: SIZE - 10] + " is hiring",
    "role before 'at'": ("engineer " * SIZE)[: SIZE - 3] + " at",
    "numbered words": " ".join(f"Word{i}" for i in range(SIZE))[:SIZE],
    "many links": " ".join(f"https://jobs.lever.co/x{i}/{i}" for i in range(SIZE))[:SIZE],
    "many capitalised lines": "\n".join(["Acme Labs Big Name " * 10] * SIZE)[:SIZE],
    "many short lines": "\n".join(["A"] * SIZE)[:SIZE],
}


def test_the_guess_reads_a_bounded_head_of_any_text_quickly() -> None:
    spent = {}
    for name, text in HOSTILE.items():
        assert len(text) == SIZE, name
        started = time.process_time()  # CPU time: a loaded machine does not inflate it
        read_posting(text)
        spent[name] = time.process_time() - started
    # About 10 ms each here (the slowest 46 ms, 20 lines of "A A A ..."), against seconds
    # before; the bound is generous, for slow machines.
    assert max(spent.values()) < 1.0, spent


def test_only_the_first_lines_say_the_company_and_role() -> None:
    chatter = [f"line {i} of the thread" for i in range(HEAD_LINES)]
    late = "\n".join([*chatter, "Senior Data Engineer at Acme Corp"])
    assert read_posting(late) == Posting()
    early = "\n".join([*chatter[:-1], "Senior Data Engineer at Acme Corp"])
    assert read_posting(early) == Posting("Acme Corp", "Senior Data Engineer", "")
    # Blank lines and lines of nothing but emoji or links are not counted.
    padded = "\n\n:tada: :tada:\nhttps://example.org/x\n" * 10 + "Senior Data Engineer at Acme"
    assert read_posting(padded).company == "Acme"


def test_a_line_is_read_up_to_its_first_characters_and_links_anywhere() -> None:
    words = "so " * (LINE_CHARS // 3)
    assert read_posting(words + "Senior Data Engineer at Acme Corp") == Posting()
    link = "https://boards.greenhouse.io/acmecorp/jobs/4012345"
    hostile_then_post = "\n".join(
        [
            "Acme " * 8000,  # one line, cut short
            "Senior Data Engineer at Acme Corp",
            *(["filler"] * 100),
            f"Apply: {link}",
        ]
    )
    assert read_posting(hostile_then_post) == Posting("Acme Corp", "Senior Data Engineer", link)


def test_a_line_that_is_only_a_title_is_the_role() -> None:
    # A job board's link labelled with the job (Slack's <url|label>, read as "label url"),
    # or a job feed's post headed with it.
    labelled = "Backend Engineer, Payments https://boards.greenhouse.io/stripe/jobs/123"
    assert read_posting(labelled) == Posting(
        "Stripe", "Backend Engineer, Payments", "https://boards.greenhouse.io/stripe/jobs/123"
    )
    feed = "New job\n*Senior Data Engineer (Remote) https://jobs.lever.co/acme/a1b2*\nAcme, Berlin"
    assert read_posting(feed) == Posting(
        "Acme", "Senior Data Engineer", "https://jobs.lever.co/acme/a1b2"
    )
    # A sentence that mentions a role is not a title.
    assert read_posting("Engineering all-hands moved to 3pm!").role == ""
    assert read_posting("Who knows a good Product Designer?").role == ""
