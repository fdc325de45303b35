"""Modal errors (issue 16): a form the core refuses stays open with the message beside its field
(the view_submission is answered `response_action: errors`) and nothing is saved or sent; a
confirmation that cannot go where the member was (the bot not in that channel) comes by DM.
Over real HTTP into the served Bolt app, its Web API at the local fake."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.pipeline_models import Application
from tests.slack_fake import SlackRig

pytestmark = pytest.mark.sqlite_only


def add_form(rig: SlackRig, channel: str = "C1") -> dict[str, Any]:
    assert rig.command("/pipeline add", channel=channel).status == 200
    rig.fake.wait_for(lambda: bool(rig.fake.delivered("views.open")), what="the add form")
    view: dict[str, Any] = rig.fake.delivered("views.open")[-1].body["view"]
    return view


def applications(rig: SlackRig) -> int:
    with rig.runtime.core.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Application)) or 0)


def test_a_refused_form_stays_open_with_the_error_beside_the_field(rig: SlackRig) -> None:
    view = add_form(rig)
    sent = len(rig.fake.messages())
    ans = rig.submit_view(view, {"company": "Globex", "stage": "nonsense"})
    assert ans.status == 200
    body = json.loads(ans.body)
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["stage"]
    assert "stage" in body["errors"]["stage"].lower()
    assert len(body["errors"]["stage"]) <= 300
    assert applications(rig) == 0
    assert len(rig.fake.messages()) == sent  # the modal says it; no message too

    ok = rig.submit_view(view, {"company": "Globex", "stage": "screen"})
    assert (ok.status, ok.body) == (200, "")  # closes the modal
    [confirm] = rig.fake.wait_messages(sent + 1)[sent:]
    assert "Globex" in confirm.body["text"]
    assert applications(rig) == 1


def test_an_error_naming_no_field_goes_beside_the_first(rig: SlackRig) -> None:
    view = add_form(rig)
    ans = rig.submit_view(view, {"company": "   "})
    body = json.loads(ans.body)
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["company"]


def test_a_confirmation_from_a_channel_without_the_bot_comes_by_dm(rig: SlackRig) -> None:
    view = add_form(rig, channel="CNOBOT")
    rig.fake.errors["chat.postEphemeral"] = "channel_not_found"
    sent = len(rig.fake.messages())
    assert rig.submit_view(view, {"company": "Initech"}).body == ""
    [confirm] = rig.fake.wait_messages(sent + 1)[sent:]
    assert confirm.method == "chat.postMessage"
    assert confirm.body["channel"] == "DU1"
    assert "Initech" in confirm.body["text"]
    assert applications(rig) == 1


def offer_form(rig: SlackRig) -> dict[str, Any]:
    assert rig.command("/pipeline offer").status == 200
    rig.fake.wait_for(lambda: bool(rig.fake.delivered("views.open")), what="the offer form")
    view: dict[str, Any] = rig.fake.delivered("views.open")[-1].body["view"]
    return view


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"deadline_date": "2026-11-01"},
            "deadline_date",
            "That date (Sun 1 Nov 2026, 17:00 (America/New_York)) has already passed: give a "
            "deadline in the future. Nothing was saved.",
        ),
        (
            {"deadline_time": "12:00"},
            "deadline_date",
            "The deadline has a time but no date: give its date. Nothing was saved.",
        ),
        (
            {"base": "lots"},
            "base",
            "'lots' isn't an amount for base. Try 120000, 120k or 1.2m. Nothing was saved.",
        ),
        (
            {"start": "2026-11-02"},
            "start",
            "Mon 2 Nov 2026 has already passed; give a start date ahead. Nothing was saved.",
        ),
    ],
)
def test_an_offer_form_error_goes_beside_the_field_it_is_about(
    rig: SlackRig, values: dict[str, str], field: str, message: str
) -> None:
    view = offer_form(rig)
    ans = rig.submit_view(view, {"company": "Acme", **values})
    assert ans.status == 200
    assert json.loads(ans.body) == {"response_action": "errors", "errors": {field: message}}
    assert applications(rig) == 0
