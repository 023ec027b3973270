"""CPU a message spends being composed for email: `ChannelDelivery.compose` on claimed rows of the
shipped digest (tracked links, unsubscribe and pixel URLs, the three parts rendered, the email built),
everything the worker does for a row before the SMTP call, on the event loop as the worker runs it.

    python bench/compose_bench.py [--messages N] [--rounds R] [--profile FILE]

Prints the median over rounds of the process CPU per message (render threads included) and the
messages composed per CPU second. Recipients vary (name, zone, interest, locale) as a real base does.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatcher.campaign_cache import CampaignCache, LoadedCampaign
from dispatcher.delivery import ChannelDelivery, DeliverySettings, Prepared
from dispatcher.links import LinkSigner
from dispatcher.render import Renderer
from policy.campaign import parse_campaign
from ritm.policy_file import load_policy
from storage.db import Database
from storage.outbox import ClaimedRow
from storage.recipients import Recipient

EXAMPLES = Path(__file__).resolve().parents[1] / "ritm" / "examples"
# As spread as the synthetic base's (bench/segment_bench): more zones than ZoneInfo keeps alive.
ZONES = (
    *["Europe/Moscow"] * 8,
    *("Asia/Yekaterinburg", None, "Asia/Novosibirsk", "Europe/Samara", "Asia/Krasnoyarsk", "Asia/Omsk"),
    *("Asia/Irkutsk", "Asia/Vladivostok", "Asia/Almaty", "Europe/Berlin", "Europe/Kaliningrad"),
    *("America/New_York", "Asia/Tbilisi", "Asia/Yakutsk", "Asia/Kolkata", "Asia/Magadan", "Asia/Kathmandu"),
)
VERSIONS = ("general", "warm", "clients")
NAMES = ("Анна Смирнова", "Иван", "", "Мария  Петрова", "Olga Ivanova")


class _NoSend:
    async def send(self, message: Any) -> Any:  # compose never calls it
        raise AssertionError("compose must not send")


def rows_and_recipients(count: int) -> tuple[list[ClaimedRow], dict[str, Recipient]]:
    rows, recipients = [], {}
    for i in range(count):
        cid = f"c{i:07d}"
        recipients[cid] = Recipient(
            id=cid,
            email=f"user{i}@example.com",
            name=NAMES[i % len(NAMES)],
            telegram_chat_id=None,
            phone=None,
            timezone=ZONES[i % len(ZONES)],
            locale="ru" if i % 7 else None,
            region="Москва" if i % 3 else None,
            interest="рассылки" if i % 4 == 0 else None,
            fields={"course": "Email-маркетинг"} if i % 2 else {},
        )
        rows.append(
            ClaimedRow(
                id=1000 + i,
                campaign_id="digest-48",
                contact_id=cid,
                step=0,
                priority="mass",
                channel="email",
                version=VERSIONS[i % len(VERSIONS)],
                variant="AB"[i % 2],
                due_at=1_764_000_000,
                deadline=None,
                attempts=0,
            )
        )
    return rows, recipients


async def measure(messages: int, rounds: int, profile: str | None) -> list[float]:
    policy = load_policy(None)
    campaign = parse_campaign((EXAMPLES / "digest.toml").read_text("utf-8"), "digest.toml", policy)
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        renderer = Renderer(pinned=True)
        delivery = ChannelDelivery(
            db,
            policy,
            CampaignCache(db, policy),
            renderer,
            LinkSigner("bench-secret", "https://school.example", bot_username="school_bot"),
            DeliverySettings(school="Онлайн-школа", mail_domain="school.example"),
            email=_NoSend(),
            telegram=None,
        )
        rows, recipients = rows_and_recipients(messages)
        loaded = LoadedCampaign(record=None, campaign=campaign)  # type: ignore[arg-type]  # unread
        prepared = Prepared(recipients=recipients, campaigns={campaign.id: loaded})
        now = datetime(2026, 11, 25, 10, tzinfo=UTC)
        for row in rows[:300]:  # compile templates, settle each kind on or off the loop
            await delivery.compose(row, now, prepared)
        per_message = []
        profiler = cProfile.Profile() if profile else None
        for _ in range(rounds):
            if profiler is not None:
                profiler.enable()
            started = time.process_time()
            for row in rows:
                composed = await delivery.compose(row, now, prepared)
                assert callable(composed), composed
            per_message.append((time.process_time() - started) / messages)
            if profiler is not None:
                profiler.disable()
        if profiler is not None and profile is not None:
            profiler.dump_stats(profile)
        renderer.close()
        await db.close()
    return per_message


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="write a cProfile of the measured rounds here")
    args = parser.parse_args()
    per_message = asyncio.run(measure(args.messages, args.rounds, args.profile))
    cpu = statistics.median(per_message)
    rounds = " ".join(f"{v * 1e6:.0f}" for v in per_message)
    print(
        f"compose email    {cpu * 1e6:8.0f} µs CPU a message  ({1 / cpu:.0f} msg per CPU s; rounds: {rounds})"
    )


if __name__ == "__main__":
    main()
