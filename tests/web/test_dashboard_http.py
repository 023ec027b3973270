"""The dashboard over real HTTP: sign-in by the bot's one-time link, the session gate, every page, and
approval through the same four-eyes path as the chat's buttons."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from storage.campaigns import get_campaign
from storage.team import remove_member
from tests.bot.conftest import APPROVER, AUTHOR, EXAMPLES, STRANGER, VIEWER
from tests.web.web_support import WebWorld, web_world

DIGEST = (EXAMPLES / "digest.toml").read_bytes()
FORM = re.compile(r'name="form" value="([0-9a-f]+)"')
FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]+)"')


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[WebWorld]:
    async with web_world(tmp_path) as made:
        yield made


def browser() -> aiohttp.ClientSession:
    # unsafe: keep cookies of an IP address host (127.0.0.1), as a browser does
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def signed_in(site: WebWorld, user_id: int) -> aiohttp.ClientSession:
    session = browser()
    link = await site.login_link(user_id)
    async with session.post(link, allow_redirects=False) as response:
        assert response.status == 302 and response.headers["Location"] == "/app/"
    return session


async def count(site: WebWorld, table: str) -> int:
    return int(str(await site.bot.app.db.scalar(f"SELECT COUNT(*) FROM {table}")))


async def test_without_a_session_every_page_sends_you_to_the_bot(site: WebWorld) -> None:
    async with browser() as session:
        for path in (
            "/app/",
            "/app/campaigns",
            "/app/campaigns/x",
            "/app/queue",
            "/app/audit",
            "/app/contacts/x",
        ):
            async with session.get(site.base + path, allow_redirects=False) as response:
                assert response.status == 302 and response.headers["Location"] == "/app/signin", path
        async with session.get(site.base + "/app", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/app/"
        async with session.get(site.base + "/app/signin") as response:
            assert response.status == 200 and "send /web to the school" in await response.text()
        async with session.post(site.base + "/app/campaigns/x/decision", allow_redirects=False) as response:
            assert response.status == 302
        async with session.get(site.base + "/app/", cookies={"ritm_session": "made-up"}) as response:
            assert response.url.path == "/app/signin"


async def test_a_link_signs_in_once_and_only_before_it_expires(site: WebWorld) -> None:
    link = await site.login_link(VIEWER)
    async with browser() as session:
        async with session.get(link) as page:  # a preview fetch or a scanner spends nothing
            assert page.status == 200 and 'id="sign-in"' in await page.text()
        assert await count(site, "web_sessions") == 0
        async with session.post(link) as response:
            assert response.status == 200 and response.url.path == "/app/"
            assert "member303 · viewer" in await response.text()
        cookie = next(c for c in session.cookie_jar if c.key == "ritm_session")
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/app/"
    async with browser() as other:
        async with other.post(link) as again:
            assert again.status == 403 and "work once" in await again.text()
        late = await site.login_link(VIEWER)
        site.bot.clock.advance(timedelta(minutes=11))
        async with other.get(late) as expired:
            assert expired.status == 403
        async with other.post(late) as expired:
            assert expired.status == 403
        forged = late[:-3] + ("AAA" if not late.endswith("AAA") else "BBB")
        async with other.post(forged) as response:
            assert response.status == 403
    assert await count(site, "web_sessions") == 1
    rows = await site.bot.audit_rows("web.sign_in")
    assert rows == [(str(VIEWER), "web.sign_in", str(VIEWER), "web")]


async def test_strangers_are_refused_by_the_bot_and_by_the_dashboard(site: WebWorld) -> None:
    [refused] = await site.bot.say(STRANGER, "/web")
    assert "team only" in (refused.text or "")
    assert await count(site, "web_logins") == 0
    # A member removed after getting the link, and one removed while signed in.
    link = await site.login_link(APPROVER)
    session = await signed_in(site, VIEWER)
    now = site.bot.clock()
    await remove_member(site.bot.app.db, APPROVER, by="test", at=now)
    await remove_member(site.bot.app.db, VIEWER, by="test", at=now)
    async with browser() as other, other.post(link) as response:
        assert response.status == 403 and "not in it" in await response.text()
    async with session:
        async with session.get(site.base + "/app/") as response:
            assert response.status == 403 and "is not in it" in await response.text()
        async with session.get(site.base + "/app/", allow_redirects=False) as response:
            assert response.status == 302  # the session ended with the membership
    assert await count(site, "web_sessions") == 0


async def test_every_page_renders_for_a_viewer(site: WebWorld) -> None:
    await site.bot.app.service.add(DIGEST.decode(), "digest.toml", by=str(AUTHOR), at=site.bot.clock())
    async with await signed_in(site, VIEWER) as session:
        pages = {
            "/app/": 'id="calendar"',
            "/app/campaigns": "digest-48",
            "/app/campaigns/digest-48": 'id="daily-chart"',
            "/app/contacts/h00012": 'id="reach"',
            "/app/queue": 'id="queue"',
            "/app/audit": "web.sign_in",
        }
        for path, marker in pages.items():
            async with session.get(site.base + path) as response:
                text = await response.text()
                assert response.status == 200 and marker in text, path
                assert response.headers["Cache-Control"].startswith("no-store")
                assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        async with session.get(site.base + "/app/contacts", params={"id": "h00012"}) as response:
            assert response.url.path == "/app/contacts/h00012"
        for path in ("/app/campaigns/nope", "/app/contacts/nope"):
            async with session.get(site.base + path) as response:
                assert response.status == 404 and "There is no" in await response.text()
        async with session.get(site.base + "/app/contacts/" + "x" * 5000) as response:
            assert response.status in (404, 414)


async def decide(session: aiohttp.ClientSession, site: WebWorld, verdict: str) -> tuple[int, str]:
    async with session.get(site.base + "/app/campaigns/digest-48") as page:
        text = await page.text()
    form = FORM.search(text)
    fingerprint = FINGERPRINT.search(text)
    record = await get_campaign(site.bot.app.db, "digest-48")
    assert record is not None and record.dry_run is not None
    data = {
        "form": form.group(1) if form else "",
        "fingerprint": fingerprint.group(1) if fingerprint else record.dry_run.fingerprint,
        "verdict": verdict,
    }
    async with session.post(site.base + "/app/campaigns/digest-48/decision", data=data) as response:
        return response.status, await response.text()


async def test_approval_on_the_dashboard_is_the_four_eyes_path_of_the_chat(site: WebWorld) -> None:
    world = site.bot
    added = await world.app.service.add(DIGEST.decode(), "digest.toml", by=str(AUTHOR), at=world.clock())
    world.clock.set(added.campaign.start - timedelta(hours=1))
    await world.say(AUTHOR, "/dryrun digest-48")
    cards = [m for m in world.standin.sent(APPROVER) if m.buttons()]
    assert len(cards) == 1

    async with await signed_in(site, VIEWER) as viewer:
        async with viewer.get(site.base + "/app/campaigns/digest-48") as page:
            assert 'id="approve"' not in await page.text()
        status, text = await decide(viewer, site, "approve")
        assert status == 403 and "needs the approver role" in text
    async with await signed_in(site, AUTHOR) as author:
        status, text = await decide(author, site, "approve")
        assert status == 403 and "four-eyes" in text
    async with await signed_in(site, APPROVER) as approver:
        record = await get_campaign(world.app.db, "digest-48")
        assert record is not None and record.status == "pending_approval"
        async with approver.post(
            site.base + "/app/campaigns/digest-48/decision", data={"verdict": "approve", "form": "forged"}
        ) as response:
            assert response.status == 400  # no form token of this session: nothing decided
        status, text = await decide(approver, site, "approve")
        assert status == 200 and 'id="status">approved<' in text
    record = await get_campaign(world.app.db, "digest-48")
    assert record is not None and record.status == "approved"
    approvals = await world.app.db.fetchall("SELECT decision, by_user, source FROM approvals")
    assert [tuple(r) for r in approvals] == [("approved", str(APPROVER), "web")]
    [card] = [m for m in world.standin.sent(APPROVER) if m.edited]
    assert not card.buttons() and "member202" in (card.text or "")


async def test_no_link_is_given_in_a_group_chat(site: WebWorld) -> None:
    standin = site.bot.standin
    standin.add_chat(-100500, chat_type="supergroup", title="team")
    before = len(standin.sent(-100500))
    standin.user_message(VIEWER, "/web", chat_id=-100500, language_code="en")
    await standin.wait_until_consumed()
    [reply] = standin.sent(-100500)[before:]
    assert reply.text == "Send /web to me in a private chat: the link signs in as you."
    assert await count(site, "web_logins") == 0
