"""Invitation links: /invite and /revokeinvite in Telegram, ``pulso invite`` on the command
line, and what a person sees with a used-up, expired, unknown or revoked link."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.storage.schema import participants
from handlers.callback_data import Consent
from pulso.cli import main
from pulso.cli.invites import bot_username
from surveys.invites import hash_token
from tests.e2e.harness import EXAMPLE_PLAN, TOKEN, RunningBot, e2e_settings, press
from tests.e2e.participant_steps import after, consent, issue_invite

pytestmark = pytest.mark.e2e


async def people_stored(pulso: RunningBot) -> int:
    async with pulso.services.db.read() as repos:
        count = await repos.conn.execute(sa.select(sa.func.count()).select_from(participants))
        return int(count.scalar_one())


async def test_an_admin_gets_a_deep_link_whose_token_is_stored_only_hashed(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    reply = await after(
        pulso.admin, lambda: pulso.admin.send("/invite jal0004 beneficiaria 20 10"), "start="
    )
    assert "https://t.me/pulso_test_bot?start=" in reply.content
    assert "Usos permitidos: 20" in reply.content
    assert "12 de marzo de 2026" in reply.content  # 10 days after the harness's start
    token = re.search(r"start=([A-Za-z0-9_-]+)", reply.content).group(1)
    assert len(token) >= 22  # ≥ 128 bits of randomness, URL-safe
    async with pulso.services.db.read() as repos:
        invite = await repos.invites.by_hash(hash_token(token))
        audit = await repos.audit.recent(action="invite")
    assert invite is not None
    assert (invite.commitment_id, invite.role, invite.max_uses) == ("JAL0004", "beneficiary", 20)
    assert invite.token_hash != token
    assert token not in str(audit[0].details)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("/invite", "Uso: <code>/invite", id="no-arguments"),
        pytest.param("/invite JAL0001 mayor", "El rol debe ser", id="bad-role"),
        pytest.param("/invite JAL0001 beneficiary 0", "USOS debe ser", id="zero-uses"),
        pytest.param("/invite JAL0001 beneficiary 5 400", "DÍAS debe ser", id="too-many-days"),
        pytest.param("/invite NOPE0001 beneficiary", "No hay ningún compromiso", id="unknown"),
        pytest.param("/revokeinvite", "Uso: <code>/revokeinvite", id="revoke-usage"),
        pytest.param(
            "/revokeinvite abcdefghijklmnopqrstuv", "No hay ninguna invitación", id="nope"
        ),
    ],
)
async def test_malformed_invite_commands_say_what_was_expected(
    pulso: RunningBot, command: str, expected: str
) -> None:
    await pulso.import_example_plan()
    reply = await after(pulso.admin, lambda: pulso.admin.send(command), "")
    assert expected in (reply.html or reply.content)
    async with pulso.services.db.read() as repos:
        assert await repos.invites.active(pulso.clock.now()) == []


async def test_only_admins_issue_invites(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    eve = pulso.person(4001, "Eve")
    reply = await after(eve, lambda: eve.send("/invite JAL0001 beneficiary"), "")
    assert reply.content == "🚫 Este comando no está disponible para ti."
    async with pulso.services.db.read() as repos:
        assert await repos.invites.active(pulso.clock.now()) == []


async def test_used_up_expired_unknown_and_revoked_links_are_refused_clearly(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    single = await issue_invite(pulso, "JAL0001", "beneficiary", 1, 7)
    ana, bea = pulso.person(4101, "Ana"), pulso.person(4102, "Bea", language="en")
    await consent(ana, single)

    # Used up: Bea (English) is told so, and nothing about her is stored.
    refused = await after(bea, lambda: bea.start(single), "⚠️")
    assert refused.content.startswith("⚠️ This invitation has been used as many times")
    assert refused.buttons == []

    # Unknown (a mistyped or made-up token).
    unknown = await after(bea, lambda: bea.start("x" * 32), "⚠️")
    assert "is not valid" in unknown.content

    # Revoked, by token or by pasting the whole link.
    revocable = await issue_invite(pulso, "JAL0002", "implementer", 5, 7)
    link = f"https://t.me/pulso_test_bot?start={revocable}"
    done = await after(pulso.admin, lambda: pulso.admin.send(f"/revokeinvite {link}"), "retirada")
    assert "usada 0 de 5 veces" in done.content
    again = await after(pulso.admin, lambda: pulso.admin.send(f"/revokeinvite {revocable}"), "ya")
    assert "ya estaba retirada" in again.content
    revoked = await after(bea, lambda: bea.start(revocable), "⚠️")
    assert "withdrew this invitation" in revoked.content

    # Expired: valid yesterday, refused today — even after the notice was shown.
    short = await issue_invite(pulso, "JAL0003", "beneficiary", 5, 1)
    await after(bea, lambda: bea.start(short), "Do you agree to take part?")
    pulso.clock.advance(timedelta(days=1, minutes=1))
    expired = await after(bea, lambda: press(bea, Consent(True, short)), "⚠️")
    assert "has expired" in expired.content
    assert expired.buttons == []
    expired_again = await after(bea, lambda: bea.start(short), "⚠️")
    assert "has expired" in expired_again.content

    assert await people_stored(pulso) == 1  # Ana only


async def test_the_command_line_prints_only_the_link(
    pulso: RunningBot, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", pulso.settings.database_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    def run(*argv: str) -> int:
        return main(["--env-file", "/nonexistent/.env", *argv])

    assert await asyncio.to_thread(run, "plan", "import", str(EXAMPLE_PLAN)) == 0
    capsys.readouterr()
    code = await asyncio.to_thread(
        run, "invite", "JAL0002", "implementer", "--uses", "3", "--bot-username", "pulso_test_bot"
    )
    out, err = capsys.readouterr()
    assert code == 0
    link = out.strip()
    assert re.fullmatch(r"https://t\.me/pulso_test_bot\?start=[A-Za-z0-9_-]{32}", link)
    assert "JAL0002 as implementer: 3 use(s)" in err
    async with pulso.services.db.read() as repos:
        invite = await repos.invites.by_hash(hash_token(link.split("start=")[1]))
    assert invite is not None
    assert invite.max_uses == 3

    # Without a username or a token there is no link to print, and nothing is written.
    assert await asyncio.to_thread(run, "invite", "JAL0002", "implementer") == 2
    assert await asyncio.to_thread(run, "invite", "JAL0002", "nobody", "--bot-username", "b") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--bot-username" in err
    assert "beneficiary or implementer" in err


async def test_the_command_line_asks_telegram_for_the_username(pulso: RunningBot) -> None:
    settings = e2e_settings(
        pulso.settings.database_url, telegram_api_base_url=pulso.emulator.base_url
    )
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert await bot_username(settings) == "pulso_test_bot"
