"""The private pipeline: applications, interviews, offers and letters."""

from __future__ import annotations

from bot.commandspec import Command, Shortcut, option
from bot.features.pipeline.queries import STAGES

_COMPANY = option(
    "company", "a company in your pipeline (a unique prefix will do)", autocomplete="company"
)
# Where a form can ask instead (interview, offer, deadline): without the option, it opens.
_COMPANY_OR_FORM = option(
    "company",
    "a company in your pipeline (leave out to fill in a form)",
    required=False,
    autocomplete="company",
)
# Kept in step with bot.content.LETTER_KINDS (a test checks); this module loads no content.
LETTER_KIND_CHOICES = (
    "thank-you",
    "alternatives",
    "extension",
    "exploding",
    "confirm",
    "follow-up",
    "feedback",
    "salary-expectations",
    "where-else",
    "decline",
    "motivation",
)
# The pipeline's stages, offered where the platform has a picker; typed text also takes
# their aliases.
STAGE_CHOICES = STAGES
_SCORE_HELP = "your score from 1 (poor) to 5 (great)"
_WEIGHT_HELP = "how much it counts for you, 0 to 5"
_SCORE: dict[str, object] = {"min_value": 1, "max_value": 5}
_WEIGHT: dict[str, object] = {"min_value": 0, "max_value": 5}

COMMANDS: tuple[Command, ...] = (
    Command(
        "pipeline",
        "Your applications, privately: stages, interviews, offers, deadlines, notes, files",
        default="list",
        subcommands=(
            Command(
                "add",
                "Add a company (with no company, a form opens)",
                options=(
                    option("company", "the company's name", required=False),
                    option("role", "the role you applied for", type="text", required=False),
                    option(
                        "stage",
                        "where it stands (default: applied)",
                        required=False,
                        keyword=True,
                        choices=STAGE_CHOICES,
                    ),
                    option("link", "the job posting's address", required=False, keyword=True),
                ),
                examples=('/pipeline add Acme "ML Engineer" stage screen',),
            ),
            Command("list", "Every application, grouped by stage, with the next date that matters"),
            Command(
                "show",
                "Everything about one application, with its stage history",
                options=(option("company", _COMPANY.help, type="text", autocomplete="company"),),
            ),
            Command(
                "move",
                "Move an application to a stage (backwards too; every move is kept)",
                options=(_COMPANY, option("stage", "the new stage", choices=STAGE_CHOICES)),
                examples=("/pipeline move acme onsite",),
            ),
            Command(
                "interview",
                "Record an interview: when, and optionally what kind (a form opens without)",
                options=(
                    _COMPANY_OR_FORM,
                    option(
                        "when",
                        "a date in plain words, e.g. next friday 2pm",
                        type="text",
                        required=False,
                    ),
                    option("kind", "phone, technical, onsite, ...", required=False, keyword=True),
                ),
                details=(
                    "One that is over can be recorded too: a date without its year, e.g. "
                    "22 nov, is the nearest one, up to 60 days back."
                ),
                examples=("/pipeline interview acme next tuesday 14:00 kind technical",),
            ),
            Command(
                "reschedule",
                "Move an interview to a new time, or correct one recorded wrongly",
                options=(
                    _COMPANY,
                    option("when", "the new date and time, e.g. thursday 15:00", type="text"),
                    option(
                        "kind",
                        "which interview, when there are several",
                        required=False,
                        keyword=True,
                    ),
                ),
                details=(
                    "With several interviews at the company, buttons ask which one. "
                    "A date without a time keeps the interview's time of day."
                ),
                examples=("/pipeline reschedule acme thursday 15:00",),
            ),
            Command(
                "cancel-interview",
                "Remove an interview that was cancelled or recorded by mistake",
                options=(
                    _COMPANY,
                    option(
                        "kind",
                        "which interview, when there are several",
                        required=False,
                        keyword=True,
                    ),
                ),
                examples=("/pipeline cancel-interview acme",),
            ),
            Command(
                "offer",
                "Record an offer, with its deadline and numbers if you have them",
                options=(
                    _COMPANY_OR_FORM,
                    option(
                        "deadline",
                        "when they need your answer",
                        type="text",
                        required=False,
                        keyword=True,
                    ),
                    option("base", "base salary per year, e.g. 120k", required=False, keyword=True),
                    option("bonus", "yearly bonus, e.g. 15k", required=False, keyword=True),
                    option(
                        "equity",
                        "equity as they described it",
                        type="text",
                        required=False,
                        keyword=True,
                    ),
                    option("currency", "e.g. EUR, USD, GBP", required=False, keyword=True),
                    option("start", "the start date", type="text", required=False, keyword=True),
                ),
                examples=("/pipeline offer acme deadline dec 4 5pm base 120k currency EUR",),
            ),
            Command(
                "deadline",
                "Set or change an offer's deadline (a form opens without one)",
                options=(
                    _COMPANY_OR_FORM,
                    option("when", "the deadline in plain words", type="text", required=False),
                ),
                examples=("/pipeline deadline acme friday 17:00",),
            ),
            Command(
                "note",
                "Keep a note on an application (replaces the previous one)",
                options=(_COMPANY, option("text", "the note", type="text", free=True)),
            ),
            Command(
                "remove", "Delete an application and its history (asks first)", options=(_COMPANY,)
            ),
            Command("export", "A CSV file of your pipeline with every stage move and date"),
            Command("calendar", "An .ics calendar file of your interviews and offer deadlines"),
        ),
    ),
    Command(
        "letter",
        "A letter for the moment, filled in from your pipeline, with when and how to send it",
        options=(
            option("kind", "which letter", type="choice", choices=LETTER_KIND_CHOICES),
            option("company", _COMPANY.help, type="text", required=False, autocomplete="company"),
        ),
        examples=("/letter alternatives", "/letter thank-you acme"),
    ),
    Command(
        "offer",
        "Compare your offers side by side; rate them on what matters beyond pay",
        default="compare",
        subcommands=(
            Command("compare", "Every offer side by side, with scores and deadlines"),
            Command(
                "rate",
                "Score an offer 1-5 on career fit, culture, strategy and manager (a form opens)",
                options=(
                    _COMPANY,
                    option(
                        "career", _SCORE_HELP, type="int", required=False, keyword=True, **_SCORE
                    ),
                    option(
                        "culture", _SCORE_HELP, type="int", required=False, keyword=True, **_SCORE
                    ),
                    option(
                        "strategy", _SCORE_HELP, type="int", required=False, keyword=True, **_SCORE
                    ),
                    option(
                        "manager", _SCORE_HELP, type="int", required=False, keyword=True, **_SCORE
                    ),
                ),
                examples=("/offer rate acme career 4 culture 3 strategy 5 manager 4",),
            ),
            Command(
                "weights",
                "How much each factor counts for you (0-5; equal by default)",
                options=(
                    option(
                        "career", _WEIGHT_HELP, type="int", required=False, keyword=True, **_WEIGHT
                    ),
                    option(
                        "culture", _WEIGHT_HELP, type="int", required=False, keyword=True, **_WEIGHT
                    ),
                    option(
                        "strategy",
                        _WEIGHT_HELP,
                        type="int",
                        required=False,
                        keyword=True,
                        **_WEIGHT,
                    ),
                    option(
                        "manager", _WEIGHT_HELP, type="int", required=False, keyword=True, **_WEIGHT
                    ),
                ),
                examples=("/offer weights career 3 manager 2",),
            ),
        ),
    ),
)

SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut(
        "add_to_pipeline",
        "Add to my pipeline",
        "Save the job in this message to your private pipeline (a form opens, filled in)",
        on="message",
    ),
    Shortcut(
        "log_interview",
        "Log an interview",
        "Record an interview in your private pipeline: company, date and time",
        on="global",
    ),
)
