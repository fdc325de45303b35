"""Scheduled messages on Discord under the faults Discord documents (issue 15, items 5 and 7):
through the real discord.py client over HTTP to the local fake, which dedupes nonces, answers
late, rate-limits with 429 and fails with 5xx as Discord does.

A scheduled message is sent exactly once however often the outbox retries it, and one
recipient's trouble (a slow or failing DM, a long Retry-After, a spent bucket) never holds the
sender for the next recipient."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from bot.app import App
from bot.delivery import DeliveryError, RateLimited
from bot.types import DM, Channel, Conversation, Outbound, Reply, User
from tests.discord_fake import Bot, FakeDiscord, Person, dm_channel_id

# Slow: the platform or the database failing (429s waited out, timeouts, lost answers).
pytestmark = pytest.mark.slow

BOB = Person(101, "bob")
CAROL = Person(102, "carol")
GUILD = 555
# A held sender shows up as seconds; Discord answering the fake's loopback takes milliseconds.
PROMPT = 2.0


def _dm(p: Person, text: str = "daily drill", key: str | None = None) -> Outbound:
    return Outbound(DM(User("discord", str(GUILD), str(p.uid), p.name)), Reply(text), key=key or "")


def _dms(fake: FakeDiscord, p: Person) -> str:
    return rf"^/channels/{dm_channel_id(p.uid)}/messages$"


@pytest.fixture
def quick(app: App, fake: FakeDiscord) -> Iterator[Bot]:
    """A client whose per-delivery bound is short, so a late answer is seen in a test."""
    b = Bot(app, fake, deliver_timeout=1.0)
    yield b
    b.stop()


def _timed(fn: Callable[[], None]) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


# -- item 5: a DM Discord accepts but answers late is sent once --------------------------------


def test_dm_accepted_but_answered_late_is_sent_once(quick: Bot, fake: FakeDiscord) -> None:
    quick.adapter.deliver(_dm(BOB, "hello"))  # Bob's DM channel is known from here on
    fake.slow("POST", _dms(fake, BOB), delay=3.0)
    ob = _dm(BOB, "today's drill", key="m1|daily|d-17|2026-11-23")
    with pytest.raises(DeliveryError) as err:
        quick.adapter.deliver(ob)  # Discord took it, but its answer comes after our bound
    assert err.value.retryable
    quick.adapter.deliver(ob)  # the outbox retries the same row
    drills = [m for m in fake.created(dm_channel_id(BOB.uid)) if "today" in str(m["embeds"])]
    assert len(drills) == 1
    posts = fake.matching("POST", _dms(fake, BOB))[-2:]
    assert posts[0].json["nonce"] == posts[1].json["nonce"]
    assert posts[0].json["enforce_nonce"] is True
    assert len(posts[0].json["nonce"]) <= 25


def test_each_row_has_its_own_nonce(bot: Bot, fake: FakeDiscord) -> None:
    bot.adapter.deliver(_dm(BOB, "one", key="m1|daily|d-1|2026-11-23"))
    bot.adapter.deliver(_dm(BOB, "two", key="m1|nudge|n-1|2026-11-23"))
    bot.adapter.deliver(_dm(BOB, "three"))  # no key: sent, without a deterministic nonce
    assert len(fake.created(dm_channel_id(BOB.uid))) == 3


def test_nonce_of_a_deleted_message_counts_as_delivered(bot: Bot, fake: FakeDiscord) -> None:
    ob = _dm(BOB, key="m1|daily|d-2|2026-11-23")
    bot.adapter.deliver(ob)
    [msg] = fake.created(dm_channel_id(BOB.uid))
    fake.delete_message(int(msg["id"]))  # the member deleted it before the retry came
    bot.adapter.deliver(ob)  # Discord says 404 Unknown Message: it was delivered once
    assert fake.created(dm_channel_id(BOB.uid)) == []
    assert len(fake.messages) == 1


def test_channel_posts_are_deduped_too(bot: Bot, fake: FakeDiscord) -> None:
    ob = Outbound(
        Channel(Conversation("channel", "4242"), "discord", str(GUILD)),
        Reply("board"),
        key="c1|lb|w48",
    )
    bot.adapter.deliver(ob)
    bot.adapter.deliver(ob)
    assert len(fake.created(4242)) == 1


# -- item 7: one recipient's trouble never holds the sender ------------------------------------


def test_persistent_500_fails_fast_and_retryably(bot: Bot, fake: FakeDiscord) -> None:
    bot.adapter.deliver(_dm(BOB, "hello"))
    fake.fail("POST", _dms(fake, BOB), 500, {"message": "500: Internal Server Error"}, times=99)
    with pytest.raises(DeliveryError) as err:
        bot.adapter.deliver(_dm(BOB, key="m1|daily|d-3|2026-11-23"))
    assert err.value.retryable
    assert len(fake.matching("POST", _dms(fake, BOB))) == 2  # no retries inside the client
    assert _timed(lambda: bot.adapter.deliver(_dm(CAROL))) < PROMPT
    assert fake.created(dm_channel_id(CAROL.uid))


def test_persistent_500_is_bounded(bot: Bot, fake: FakeDiscord) -> None:
    bot.adapter.deliver(_dm(BOB, "hello"))
    fake.fail("POST", _dms(fake, BOB), 502, {"message": "Bad Gateway"}, times=99)
    start = time.monotonic()
    with pytest.raises(DeliveryError):
        bot.adapter.deliver(_dm(BOB, key="m1|daily|d-4|2026-11-23"))
    assert time.monotonic() - start < PROMPT


def test_long_retry_after_is_raised_not_slept(bot: Bot, fake: FakeDiscord) -> None:
    bot.adapter.deliver(_dm(BOB, "hello"))
    bot.adapter.deliver(_dm(CAROL, "hello"))
    fake.rate_limit("POST", _dms(fake, BOB), 30.0)  # under discord.py's 60 s: it would sleep
    start = time.monotonic()
    with pytest.raises(RateLimited) as err:
        bot.adapter.deliver(_dm(BOB, key="m1|daily|d-5|2026-11-23"))
    assert time.monotonic() - start < PROMPT
    assert 25.0 <= err.value.retry_after <= 31.0
    # Carol's DM is another channel, another bucket: it goes at once.
    assert _timed(lambda: bot.adapter.deliver(_dm(CAROL, "drill"))) < PROMPT
    assert len(fake.created(dm_channel_id(CAROL.uid))) == 2


def test_global_rate_limit_is_raised_for_every_send(bot: Bot, fake: FakeDiscord) -> None:
    bot.adapter.deliver(_dm(BOB, "hello"))
    fake.rate_limit("POST", ".*", 20.0, is_global=True)
    for who in (BOB, CAROL):
        start = time.monotonic()
        with pytest.raises(RateLimited) as err:
            bot.adapter.deliver(_dm(who))
        assert time.monotonic() - start < PROMPT
        assert err.value.retry_after > 15.0


def test_short_retry_after_is_waited_out_inline(bot: Bot, fake: FakeDiscord) -> None:
    bot.adapter.deliver(_dm(BOB, "hello"))
    fake.rate_limit("POST", _dms(fake, BOB), 0.2)
    bot.adapter.deliver(_dm(BOB, "drill", key="m1|daily|d-6|2026-11-23"))
    assert len(fake.created(dm_channel_id(BOB.uid))) == 2


def test_a_spent_bucket_is_raised_not_slept(bot: Bot, fake: FakeDiscord) -> None:
    """Discord allows about 5 messages per 5 s in one channel. discord.py sleeps out a spent
    bucket inside the call that spent it; the outbox must hear RateLimited at once instead."""
    fake.bucket("POST", r"^/channels/\d+/messages$", 5, 5.0)
    start = time.monotonic()
    for i in range(5):
        bot.adapter.deliver(_dm(BOB, f"burst {i}", key=f"m1|burst|{i}|2026-11-23"))
    assert time.monotonic() - start < PROMPT
    with pytest.raises(RateLimited) as err:
        bot.adapter.deliver(_dm(BOB, "burst 5", key="m1|burst|5|2026-11-23"))
    assert 0 < err.value.retry_after <= 5.0
    assert time.monotonic() - start < PROMPT
    assert _timed(lambda: bot.adapter.deliver(_dm(CAROL, "drill"))) < PROMPT
    assert len(fake.created(dm_channel_id(BOB.uid))) == 5
    assert len(fake.created(dm_channel_id(CAROL.uid))) == 1


def test_known_dm_channels_do_not_wait_on_opening_new_ones(bot: Bot, fake: FakeDiscord) -> None:
    """Opening a DM channel is one route for the whole bot: when Discord limits it, members
    whose DM channel the bot already knows still get their messages. discord.py remembers
    only 128 DM channels; a cohort is thousands."""
    cohort = [Person(10_000 + i, f"m{i}") for i in range(200)]
    for p in cohort:
        bot.adapter.deliver(_dm(p, "welcome"))
    fake.rate_limit("POST", r"^/users/@me/channels$", 60.0)
    bot.adapter.deliver(_dm(cohort[0], "drill", key="m10000|daily|d-1|2026-11-24"))
    assert len(fake.created(dm_channel_id(cohort[0].uid))) == 2
    with pytest.raises(RateLimited):  # a member never DMed before waits, alone
        bot.adapter.deliver(_dm(BOB, "drill"))
