"""``pulso export``, ``pulso report`` and ``pulso sentiment`` on a SQLite file: data on standard
output, messages on standard error, pseudonyms instead of people, suppression in reports."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.plans import import_plan
from bot.storage.engine import Database
from bot.storage.migrate import upgrade
from pulso.cli import main
from surveys.instruments import Instrument
from surveys.loader import load_plan
from tests.e2e.harness import EXAMPLE_PLAN
from tests.factories import add_instrument, add_person, add_response, add_round

SECRET = "export-test-secret-0123456789"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NEEDS = Instrument.model_validate(
    {
        "id": "needs",
        "version": 1,
        "title": {"es": "Necesidades", "en": "Needs"},
        "intro": {"es": "i", "en": "i"},
        "outro": {"es": "o", "en": "o"},
        "questions": [
            {
                "id": "needs",
                "type": "multi",
                "text": {"es": "¿Qué falta?", "en": "What is missing?"},
                "options": [
                    {"code": "water", "label": {"es": "Agua", "en": "Water"}},
                    {"code": "light", "label": {"es": "Luz", "en": "Light"}},
                ],
            },
            {"id": "note", "type": "text", "required": False, "text": {"es": "n", "en": "n"}},
        ],
    }
)


@pytest.fixture
async def env(tmp_path: Path) -> Path:
    """A settings file naming a SQLite database with two rounds of answers."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}"
    db = Database.from_url(url)
    try:
        await upgrade(db)
        await import_plan(db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=NOW)
        progress = await add_instrument(db, NOW)
        needs = await add_instrument(db, NOW, NEEDS)
        first = await add_round(
            db, NOW, instrument_pk=progress, targets=[("JAL0001", "beneficiary")]
        )
        people = []
        for n in range(5):
            person = await add_person(
                db, NOW, 4000 + n, demographics={"gender": "woman" if n < 4 else "man"}
            )
            await add_response(
                db, NOW, round_id=first, commitment_id="JAL0001", role="beneficiary",
                participant_id=person,
                answers_given={"change": "no_change", "trust": "same", "what_changed": "=SUM(A1)"},
            )  # fmt: skip
            people.append(person)
        second = await add_round(
            db, NOW, instrument_pk=needs, targets=[("JAL0001", "beneficiary")]
        )
        await add_response(
            db, NOW, round_id=second, commitment_id="JAL0001", role="beneficiary",
            participant_id=people[0], answers_given={"needs": ["water", "light"], "note": None},
            instrument=NEEDS,
        )  # fmt: skip
        await add_response(
            db, NOW, round_id=second, commitment_id="JAL0001", role="beneficiary",
            answers_given={"needs": ["light"], "note": "sin nombre"}, instrument=NEEDS,
        )  # fmt: skip
    finally:
        await db.close()
    path = tmp_path / ".env"
    path.write_text(f"DATABASE_URL={url}\nPSEUDONYM_SECRET={SECRET}\nMIN_GROUP_SIZE=5\n")
    return path


async def pulso(*argv: str, stdin: str | None = None) -> int:
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    return await asyncio.to_thread(main, list(argv))


def expected_pseudonym(round_id: int, user_id: int) -> str:
    message = f"{round_id}:{user_id}".encode()
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


async def test_export_csv_has_one_row_per_answer_and_option(env: Path, capsys) -> None:
    assert await pulso("--env-file", str(env), "export", "--round", "2") == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:8] == [
        "round", "instrument", "commitment", "role", "pseudonym", "question", "value", "score",
    ]  # fmt: skip
    assert [
        (r["pseudonym"], r["question"], r["value"], r["text"], r["skipped"]) for r in rows
    ] == [
        (expected_pseudonym(2, 4000), "needs", "light", "", "false"),
        (expected_pseudonym(2, 4000), "needs", "water", "", "false"),
        (expected_pseudonym(2, 4000), "note", "", "", "true"),
        ("", "needs", "light", "", "false"),  # unlinked by /forget: no pseudonym
        ("", "note", "", "sin nombre", "false"),
    ]
    assert "4000" not in out
    assert "5 answer row(s) of round 2 exported as csv" in err


async def test_export_of_every_round_keeps_formulas_from_running(env: Path, capsys) -> None:
    assert await pulso("--env-file", str(env), "export") == 0
    out, _ = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5 * 3 + 5
    texts = {r["text"] for r in rows if r["question"] == "what_changed"}
    assert texts == {"'=SUM(A1)"}


async def test_export_json(env: Path, capsys) -> None:
    assert await pulso("--env-file", str(env), "export", "--round", "1", "--format", "json") == 0
    out, _ = capsys.readouterr()
    records = json.loads(out)
    assert len(records) == 15
    assert records[0]["pseudonym"] == expected_pseudonym(1, 4000)
    assert {r["text"] for r in records if r["question"] == "what_changed"} == {"=SUM(A1)"}
    # Privacy rule: times no finer than the day unless asked for.
    assert records[0]["answered_at"] == NOW.date().isoformat()


async def test_export_with_exact_times_when_asked(env: Path, capsys) -> None:
    assert await pulso("--env-file", str(env), "export", "--round", "1", "--exact-times") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["answered_at"] == NOW.isoformat()


async def test_pseudonyms_differ_from_round_to_round(env: Path, capsys) -> None:
    """Privacy rule: two rounds' answer files cannot be joined into one person's history."""
    assert await pulso("--env-file", str(env), "export") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_round: dict[str, set[str]] = {}
    for row in rows:
        if row["pseudonym"]:
            by_round.setdefault(row["round"], set()).add(row["pseudonym"])
    assert by_round["1"]
    assert by_round["2"]
    assert not by_round["1"] & by_round["2"]


async def test_every_answer_file_is_audited(env: Path, capsys) -> None:
    """Privacy rule: the full answer file is an audited operation."""
    assert await pulso("--env-file", str(env), "export", "--round", "2") == 0
    settings = await asyncio.to_thread(env.read_text)
    url = settings.split("DATABASE_URL=", 1)[1].split("\n", 1)[0]
    db = Database.from_url(url)
    try:
        async with db.read() as repos:
            audited = await repos.audit.recent(action="export_answers")
    finally:
        await db.close()
    assert [(e.actor, e.details) for e in audited] == [
        (None, {"round": 2, "rows": 5, "exact_times": False})
    ]


async def test_export_problems_go_to_standard_error(env: Path, tmp_path: Path, capsys) -> None:
    assert await pulso("--env-file", str(env), "export", "--round", "9") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "there is no round 9" in err
    no_secret = tmp_path / "no-secret.env"
    settings = await asyncio.to_thread(env.read_text)
    await asyncio.to_thread(no_secret.write_text, settings.replace("PSEUDONYM_SECRET", "UNUSED"))
    assert await pulso("--env-file", str(no_secret), "export") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "PSEUDONYM_SECRET is not set" in err


async def test_report_writes_a_page_its_charts_and_the_aggregates(
    env: Path, tmp_path: Path, capsys
) -> None:
    out_dir = tmp_path / "report"
    assert (
        await pulso(
            "--env-file", str(env), "report", "--round", "1", "--out", str(out_dir), "--lang", "en"
        )
        == 0
    )
    _, err = capsys.readouterr()
    assert "report.html" in err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == [
        "aggregates.csv",
        "gap.png",
        "report.html",
        "responses.csv",  # the government's answers (none here: its header only)
        "tone.png",
        "trend-JAL0001.png",
    ]
    page = (out_dir / "report.html").read_text()
    assert "<h1>📊 Results of round 1 · How is the commitment going?</h1>" in page
    assert "Change for people: 25/100" in page
    assert "'=SUM(A1)" not in page  # quotes and themes are escaped, never raw
    # Four women and one man: both cells are under five, so neither is shown.
    assert "fewer than 5 answers" in page
    assert "<td>Woman</td><td>fewer than 5 answers</td>" in page
    aggregates = list(csv.DictReader(io.StringIO((out_dir / "aggregates.csv").read_text())))
    outcome = next(
        r for r in aggregates if r["figure"] == "outcome_index" and r["role"] == "beneficiary"
    )
    assert (outcome["value"], outcome["people"], outcome["status"]) == ("25.00", "5", "shown")
    assert all(r["value"] == "" for r in aggregates if r["status"] == "suppressed")


async def test_report_of_an_unknown_round(env: Path, tmp_path: Path, capsys) -> None:
    assert (
        await pulso("--env-file", str(env), "report", "--round", "9", "--out", str(tmp_path / "r"))
        == 1
    )
    assert "round 9" in capsys.readouterr().err


async def test_sentiment_reads_texts_and_prints_label_probability_score_text(capsys) -> None:
    texts = "No sirvió para nada 😡\nThe register finally works, thank you\n\n"
    assert await pulso("--env-file", "", "sentiment", stdin=texts) == 0
    out, err = capsys.readouterr()
    lines = [line.split("\t") for line in out.splitlines()]
    assert [(label, text) for label, _, _, text in lines] == [
        ("neg", "No sirvió para nada 😡"),
        ("pos", "The register finally works, thank you"),
        ("neu", ""),
    ]
    assert all(1 / 3 <= float(probability) <= 1 for _, probability, _, _ in lines)
    assert float(lines[0][2]) < 0 < float(lines[1][2])
    assert "3 text(s) scored with pulso-tone" in err


async def test_sentiment_in_a_given_language(capsys) -> None:
    assert await pulso("--env-file", "", "sentiment", "--lang", "en", stdin="great\n") == 0
    label, probability, score, text = capsys.readouterr().out.rstrip("\n").split("\t")
    assert (label, text) == ("pos", "great")
    assert 1 / 3 <= float(probability) <= 1
    assert float(score) > 0
