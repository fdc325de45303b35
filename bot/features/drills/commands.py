"""Drills: practise, answer, review, and ask for a question."""

from __future__ import annotations

from bot.commandspec import Command, option
from bot.content import QUESTION_TOPICS, TRACKS
from bot.types import ANSWER_LIMIT

# The tree offers exactly what the content knows, in the same order.
_TRACK_IDS = tuple(TRACKS)
_TOPIC_IDS = tuple(QUESTION_TOPICS)

COMMANDS: tuple[Command, ...] = (
    Command(
        "drill",
        "Practise: the next drill, your answer, hints, your stats",
        default="next",
        subcommands=(
            Command(
                "next",
                "The next drill: reviews that are due first, then new ones",
                options=(
                    option(
                        "track",
                        "only this track",
                        type="choice",
                        choices=_TRACK_IDS,
                        required=False,
                    ),
                    option(
                        "drill",
                        "this drill, by its id (the one a workshop names, or one to retry)",
                        keyword=True,
                        required=False,
                        autocomplete="drill",
                        takes_unmatched=True,
                    ),
                ),
                examples=("/drill", "/drill behavioral", "/drill prob-two-aces"),
            ),
            Command(
                "answer",
                "Answer the drill in front of you and get feedback",
                options=(
                    option(
                        "text",
                        "your answer (long ones: the Answer button's form)",
                        type="text",
                        required=False,
                        free=True,
                        max_length=ANSWER_LIMIT,
                    ),
                ),
                examples=("/drill answer In my last role we were...",),
            ),
            Command("hint", "A hint for the drill in front of you"),
            Command("framework", "The answer structure that fits the drill in front of you"),
            Command("skip", "Skip to the model answer (fewer points than writing one)"),
            Command(
                "rate",
                "Rate how it went, which schedules the next review",
                options=(
                    option(
                        "rating",
                        "again, hard, good or easy",
                        type="choice",
                        choices=("again", "hard", "good", "easy"),
                    ),
                ),
            ),
            Command("stats", "Your drills this week and in all, streaks, what is due"),
        ),
    ),
    Command(
        "ask",
        "Questions to ask your interviewer, by topic",
        default="questions",
        subcommands=(
            Command(
                "questions",
                "Three questions on a topic, or a mix",
                options=(
                    option(
                        "topic",
                        "a topic (see /ask topics)",
                        type="choice",
                        choices=_TOPIC_IDS,
                        required=False,
                    ),
                ),
                examples=("/ask", "/ask culture"),
            ),
            Command("topics", "The topics there are questions for"),
        ),
    ),
)
