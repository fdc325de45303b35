"""Slack pickers and shortcuts (issue 16), over real HTTP into the served Bolt app, its Web API
at the local fake: dated forms open as modals with datepicker and timepicker (the member's
zone named under the time) in input blocks, valid for slack_sdk's models, and their values come
back from view.state.values as Slack sends them; "Add to my pipeline" on a message opens the
add form filled in from the message; the global shortcut "Log an interview" opens the interview
form. Each modal is opened with the request's own trigger_id, which the fake takes once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from adapters.slack import render
from adapters.slack.manifest import manifest
from bot.db.pipeline_models import Application, Interview, Offer
from bot.types import Form, FormField
from tests.slack_fake import SlackRig, view_problem

pytestmark = pytest.mark.sqlite_only


def opened(rig: SlackRig, n: int = 1) -> list[Any]:
    rig.fake.wait_for(lambda: len(rig.fake.delivered("views.open")) >= n, what="a modal")
    return rig.fake.delivered("views.open")


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def rows(rig: SlackRig, model: type) -> list[Any]:
    with rig.runtime.core.sessions() as s:
        found = list(s.scalars(select(model)).all())
        for row in found:
            s.expunge(row)
        return found


JOB_POST = {
    "user": "U9",
    "text": (
        ":rocket: *We're hiring:* Machine Learning Engineer @ Stark Industries &amp; friends\n"
        "<https://careers.starkindustries.com/jobs/9?src=slack|Apply here>"
    ),
}


def test_add_to_my_pipeline_opens_the_add_form_filled_in_from_the_message(
    rig: SlackRig,
) -> None:
    assert rig.message_shortcut("add_to_pipeline", JOB_POST, channel="CJOBS").status == 200
    [call] = opened(rig)
    assert call.body["trigger_id"].startswith("trig-")  # the shortcut's own trigger
    view = call.body["view"]
    assert view_problem(view) is None
    fields = inputs(view)
    assert fields["company"]["initial_value"] == "Stark Industries"
    assert fields["role"]["initial_value"] == "Machine Learning Engineer"
    assert fields["link"]["initial_value"] == "https://careers.starkindustries.com/jobs/9?src=slack"
    assert "initial_value" not in fields["stage"]
    assert json.loads(view["private_metadata"])["c"] == "CJOBS"
    assert rig.fake.messages() == []  # the form is the answer
    # The member corrects the guess and saves.
    values: dict[str, str | int] = {
        "company": "Stark Industries",
        "role": "ML Engineer",
        "link": fields["link"]["initial_value"],
    }
    assert rig.submit_view(view, values).body == ""
    [confirm] = rig.fake.wait_messages(1)
    assert "Added Stark Industries (ML Engineer) at applied." in confirm.body["text"]
    [app] = rows(rig, Application)
    assert app.link == "https://careers.starkindustries.com/jobs/9?src=slack"


def test_log_an_interview_opens_pickers_in_the_members_zone(rig: SlackRig) -> None:
    rig.command("/pipeline add Acme", user="U2")  # U2's Slack profile: Asia/Tokyo
    rig.fake.wait_messages(1)
    assert rig.global_shortcut("log_interview", user="U2").status == 200
    [call] = opened(rig)
    view = call.body["view"]
    assert view_problem(view) is None
    fields = inputs(view)
    assert fields["date"] == {"type": "datepicker", "action_id": "value"}
    assert fields["time"] == {"type": "timepicker", "action_id": "value", "timezone": "Asia/Tokyo"}
    assert fields["company"]["type"] == "plain_text_input"
    # Picked: Slack sends the date and time as it shows them, in the zone it names.
    values: dict[str, str | int] = {"company": "acme", "date": "2026-12-03", "time": "10:30"}
    assert rig.submit_view(view, values, user="U2").body == ""
    [confirm] = rig.fake.wait_messages(2)[1:]
    assert confirm.method == "chat.postMessage"  # from the composer: the answer is a DM
    assert "10:30 (Asia/Tokyo)" in confirm.body["text"]
    [iv] = rows(rig, Interview)
    assert iv.at.replace(tzinfo=UTC) == datetime(2026, 12, 3, 1, 30, tzinfo=UTC)


def test_the_offer_form_reads_its_pickers(rig: SlackRig) -> None:
    rig.command("/pipeline add Globex")
    rig.fake.wait_messages(1)
    rig.command("/pipeline offer")
    [call] = opened(rig)
    view = call.body["view"]
    assert view_problem(view) is None
    assert [e["type"] for e in inputs(view).values()] == [
        "plain_text_input",
        "datepicker",
        "timepicker",
        "plain_text_input",
        "datepicker",
    ]
    values: dict[str, str | int] = {
        "company": "globex",
        "deadline_date": "2026-12-10",
        "deadline_time": "12:00",
        "base": "$140k",
        "start": "2027-01-11",
    }
    assert rig.submit_view(view, values).body == ""
    rig.fake.wait_messages(2)
    [offer] = rows(rig, Offer)
    # U1 follows their Slack profile's zone, America/New_York: noon there is 17:00 UTC.
    assert offer.deadline.replace(tzinfo=UTC) == datetime(2026, 12, 10, 17, 0, tzinfo=UTC)
    assert (offer.base, offer.currency, str(offer.start_date)) == (140000, "USD", "2027-01-11")


def test_a_refused_picked_value_keeps_the_modal_open_beside_its_field(rig: SlackRig) -> None:
    rig.command("/pipeline add Acme")
    rig.fake.wait_messages(1)
    rig.command("/pipeline deadline acme")
    view = opened(rig)[0].body["view"]
    ans = rig.submit_view(view, {"company": "acme", "date": "2026-11-01"})
    body = json.loads(ans.body)
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["date"]  # "The deadline ... has already passed"
    assert rows(rig, Offer) == []


def test_the_fake_takes_a_trigger_once_and_refuses_invalid_views(rig: SlackRig) -> None:
    client = rig.bot.client
    form = Form("x", "Test", (FormField("when", "When", kind="time"),))
    view = render.modal(form, "{}")
    assert client.views_open(trigger_id="t-once", view=view)["ok"]
    with pytest.raises(Exception, match="exchanged_trigger_id"):
        client.views_open(trigger_id="t-once", view=view)
    with pytest.raises(Exception, match="invalid_trigger_id"):
        client.views_open(trigger_id="", view=view)
    bad = json.loads(json.dumps(view))
    bad["blocks"][0]["element"]["initial_time"] = "25:00"
    with pytest.raises(Exception, match="invalid_arguments"):
        client.views_open(trigger_id="t-2", view=bad)
    assert rig.fake.refused_views == ["slack_sdk: initial_time attribute must be in format 'HH:mm'"]


def test_every_kind_of_field_renders_as_valid_block_kit_and_reads_back() -> None:
    form = Form(
        "x",
        "Every kind",
        (
            FormField("t", "Text", initial="hello", max_length=10),
            FormField("d", "Date", kind="date", initial="2026-12-05"),
            FormField("h", "Time", kind="time", initial="14:30"),
        ),
        zone="Europe/Paris",
    )
    view = render.modal(form, "{}")
    assert view_problem(view) is None
    els = inputs(view)
    assert els["t"]["initial_value"] == "hello"
    assert els["d"]["initial_date"] == "2026-12-05"
    assert els["h"] == {
        "type": "timepicker",
        "action_id": "value",
        "initial_time": "14:30",
        "timezone": "Europe/Paris",
    }
    state = {
        "values": {
            "t": {"value": {"type": "plain_text_input", "value": "typed"}},
            "d": {"value": {"type": "datepicker", "selected_date": "2027-01-02"}},
            "h": {
                "value": {
                    "type": "timepicker",
                    "selected_time": "09:05",
                    "timezone": "Europe/Paris",
                }
            },
            "empty": {"value": {"type": "datepicker", "selected_date": None}},
        }
    }
    assert render.form_values(state) == {
        "t": "typed",
        "d": "2027-01-02",
        "h": "09:05",
        "empty": "",
    }


def test_the_manifest_declares_both_shortcuts() -> None:
    found = manifest("https://bot.example.org")["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"], s["name"]) for s in found] == [
        ("message", "add_to_pipeline", "Add to my pipeline"),
        ("global", "log_interview", "Log an interview"),
    ]
    for s in found:
        assert 1 <= len(s["name"]) <= 24
        assert 1 <= len(s["description"]) <= 150


def test_an_ambiguous_typed_date_is_asked_about_with_buttons_that_finish_it(
    rig: SlackRig,
) -> None:
    rig.command("/settings tz Europe/Paris")
    rig.command("/pipeline add Acme")
    rig.fake.wait_messages(2)
    rig.command("/pipeline interview acme 03/04 14:00")
    [question] = rig.fake.wait_messages(3)[2:]
    assert "Did you mean 3 April or 4 March?" in question.body["text"]
    buttons = [
        el for b in question.body["blocks"] if b["type"] == "actions" for el in b["elements"]
    ]
    assert [b["text"]["text"] for b in buttons] == ["3 April", "4 March"]
    assert rows(rig, Interview) == []
    rig.click(buttons[0]["value"])
    [answer] = rig.fake.wait_messages(4)[3:]
    assert "Sat 3 Apr 2027, 14:00 (Europe/Paris)" in answer.body["text"]
    [iv] = rows(rig, Interview)
    assert iv.at.replace(tzinfo=UTC) == datetime(2027, 4, 3, 12, 0, tzinfo=UTC)


def test_a_trigger_opens_a_view_within_three_seconds_only(rig: SlackRig) -> None:
    form = Form("x", "Test", (FormField("what", "What"),))
    view = render.modal(form, "{}")
    late = rig.trigger()
    rig.fake.trigger_ttl = 0.0  # as if the 3 s had passed since the request
    with pytest.raises(Exception, match="expired_trigger_id"):
        rig.bot.client.views_open(trigger_id=late, view=view)


# -- what a shared message holds, as Slack sends it ------------------------------------------

GREENHOUSE = "https://boards.greenhouse.io/stripe/jobs/123"

# A member's post from the composer: its text in mrkdwn, a job board's link labelled with the
# job, and the rich_text block the composer made of the same text.
LABELLED_LINK = {
    "user": "U9",
    "client_msg_id": "2f1c0c56-0000-4000-8000-000000000001",
    "text": f"<{GREENHOUSE}|Backend Engineer, Payments>",
    "blocks": [
        {
            "type": "rich_text",
            "block_id": "Xy1",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "link", "url": GREENHOUSE, "text": "Backend Engineer, Payments"}
                    ],
                }
            ],
        }
    ],
}

# A job feed's post (an RSS or job-board app): nothing but blocks, its text empty.
FEED_POST = {
    "bot_id": "B0FEED",
    "subtype": "bot_message",
    "username": "Job Feed",
    "text": "",
    "blocks": [
        {"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "New job"}},
        {
            "type": "section",
            "block_id": "s",
            "text": {
                "type": "mrkdwn",
                "text": "*<https://jobs.lever.co/acme/a1b2c3|Senior Data Engineer>*",
            },
            "fields": [
                {"type": "mrkdwn", "text": "*Location*\nBerlin"},
                {"type": "mrkdwn", "text": "*Type*\nFull-time"},
            ],
            "accessory": {
                "type": "button",
                "action_id": "apply",
                "text": {"type": "plain_text", "text": "Apply"},
                "url": "https://jobs.lever.co/acme/a1b2c3/apply",
            },
        },
        {"type": "divider", "block_id": "d"},
        {
            "type": "context",
            "block_id": "c",
            "elements": [{"type": "mrkdwn", "text": "Posted via Lever &amp; RSS"}],
        },
    ],
}

# A Workflow Builder form's post: rich_text only, a list of labelled answers.
WORKFLOW_POST = {
    "bot_id": "B0WORKFLOW",
    "subtype": "bot_message",
    "text": "",
    "blocks": [
        {
            "type": "rich_text",
            "block_id": "w",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "emoji", "name": "mega", "unicode": "1f4e3"},
                        {"type": "text", "text": " A job for the cohort, shared by "},
                        {"type": "user", "user_id": "U0SHARER"},
                        {"type": "text", "text": "\n"},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "style": "bullet",
                    "indent": 0,
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [
                                {"type": "text", "text": "Company: ", "style": {"bold": True}},
                                {"type": "text", "text": "Hooli"},
                            ],
                        },
                        {
                            "type": "rich_text_section",
                            "elements": [
                                {"type": "text", "text": "Role: ", "style": {"bold": True}},
                                {"type": "text", "text": "Staff ML Engineer"},
                            ],
                        },
                        {
                            "type": "rich_text_section",
                            "elements": [
                                {"type": "text", "text": "Link: ", "style": {"bold": True}},
                                {"type": "link", "url": "https://hooli.com/careers/42"},
                            ],
                        },
                    ],
                },
            ],
        }
    ],
}


@pytest.mark.parametrize(
    ("message", "company", "role", "link"),
    [
        (LABELLED_LINK, "Stripe", "Backend Engineer, Payments", GREENHOUSE),
        (FEED_POST, "Acme", "Senior Data Engineer", "https://jobs.lever.co/acme/a1b2c3"),
        (WORKFLOW_POST, "Hooli", "Staff ML Engineer", "https://hooli.com/careers/42"),
    ],
    ids=["labelled-link", "feed-blocks", "workflow-rich-text"],
)
def test_the_add_form_is_filled_in_from_what_the_message_shows(
    rig: SlackRig, message: dict[str, Any], company: str, role: str, link: str
) -> None:
    assert rig.message_shortcut("add_to_pipeline", message, channel="CJOBS").status == 200
    [call] = opened(rig)
    fields = inputs(call.body["view"])
    found = {name: fields[name].get("initial_value", "") for name in ("company", "role", "link")}
    assert found == {"company": company, "role": role, "link": link}
