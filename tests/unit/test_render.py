"""Summaries as Telegram messages, through the real catalogs: figures, suppression, escaping,
splitting."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from botapi_emulator.html import parse_html
from handlers.texts.results import (
    as_plain_text,
    commitment_sections,
    gap_sections,
    results_message,
    split_messages,
    summary_sections,
    telegram_length,
    trend_sections,
)
from surveys.aggregation import QuestionTally, RoundCounts, summarise
from surveys.digest import Digest, RoundInfo, TrendPoint
from surveys.gap import reality_gap
from surveys.instruments import Role, builtin_instrument
from surveys.locale import LocalizedText
from surveys.themes import Term, Themes
from tests.unit.test_aggregation import golden

PROGRESS = builtin_instrument("progress")
MX = ZoneInfo("America/Mexico_City")
INFO = RoundInfo(12, PROGRESS.title, "closed", datetime(2026, 3, 9, 18, 0, tzinfo=MX))
TITLES = {
    "C1": LocalizedText(es="Registro <estatal> & jornaleros", en="State <register> & workers"),
    "C2": LocalizedText(es="Agua", en="Water"),
}


def t_for(locale):
    t = translator()
    return lambda key, **params: t(key, locale, **params)


def digest(**overrides) -> Digest:
    result = golden()
    values = {
        "info": INFO,
        "result": result,
        "titles": TITLES,
        "gap": reality_gap(result, ["C1", "C2"], {"C1": 90.0}, threshold=30),
        "themes": {
            ("C1", Role.BENEFICIARY): Themes(
                words=(Term("agua", 4),), phrases=(Term("agua potable", 3),)
            )
        },
        "quotes": {("C1", Role.BENEFICIARY): ("Nunca <b>nos</b> tomaron en cuenta & ya",)},
    }
    values.update(overrides)
    return Digest(**values)


def plain(sections: list[str]) -> str:
    return as_plain_text("\n\n".join(sections))


def test_the_golden_summary_in_spanish() -> None:
    text = plain(summary_sections(t_for("es"), digest(), "es"))
    assert "Resultados de la ronda 12 · ¿Cómo va el compromiso?" in text
    assert "Cerró el 9 de marzo de 2026." in text  # Babel, as people read a date
    assert "10 de 14 personas completaron la encuesta (71 %); 11 la empezaron." in text
    assert "C1 · Registro <estatal> & jornaleros ⚠️" in text
    assert "Beneficiarias: 7 de 10 (70 %) · Implementación: 3 de 4 (75 %)" in text
    # 250/7 = 35.7 → 36; 300/7 = 42.9 → 43; the implementers' 3 answers are suppressed
    assert "Avance percibido: menos de 5 respuestas" in text
    assert "Cambio para las personas: 36/100" in text
    assert "Participación en decisiones: 36/100" in text
    assert "Respuesta del gobierno: menos de 5 respuestas" in text
    assert "Confianza: 43/100" in text
    assert "Tono de 8 comentarios: positivo 25 % · neutral 25 % · negativo 50 %" in text
    assert "índice de sentimiento 38/100" in text  # (800/21 + 37.5) / 2 = 37.8
    assert "Temas: agua potable (3)" in text
    assert "1 compromiso(s) marcado(s)" in text


def test_the_golden_summary_in_english() -> None:
    text = plain(summary_sections(t_for("en"), digest(), "en"))
    assert "Results of round 12 · How is the commitment going?" in text
    assert "Closed on March 9, 2026." in text
    assert "C1 · State <register> & workers ⚠️" in text
    assert "Perceived progress: fewer than 5 answers" in text
    assert "Change for people: 36/100" in text
    assert "nothing changed for people; the gap exceeds 30 points" in text


def test_whatever_people_or_the_plan_wrote_is_escaped() -> None:
    html = "\n\n".join(summary_sections(t_for("es"), digest(), "es"))
    assert "&lt;estatal&gt; &amp; jornaleros" in html
    assert "Nunca &lt;b&gt;nos&lt;/b&gt; tomaron en cuenta &amp; ya" in html
    assert "<estatal>" not in html
    for message in split_messages(summary_sections(t_for("es"), digest(), "es")):
        parse_html(message, strict=True)  # Telegram would accept it


def test_suppressed_figures_never_show_a_number() -> None:
    d = digest()
    text = plain(commitment_sections(t_for("en"), d, "C1", "en"))
    implementers = text.split("\nImplementers:")[1]
    assert "3 of 4 completed" in implementers  # taking part is shown
    assert "Perceived progress: fewer than 5 answers" in implementers
    assert "/100" not in implementers.split("Comments")[0]


def test_one_commitment_question_by_question() -> None:
    text = plain(commitment_sections(t_for("en"), digest(), "C1", "en"))
    assert "Change for people: 7 answers" in text
    assert "mean 36/100; median answer: Did not change" in text
    assert "Worsened 1 (14%) · Did not change 3 (43%) · Marginal 2 (29%) · Major 1 (14%)" in text
    assert "Consent to quote" not in text  # nobody's result


def test_the_gap_table() -> None:
    text = plain(gap_sections(t_for("en"), digest(), "en"))
    c1 = text.index("C1 State")
    c2 = text.index("C2 Water")
    assert c1 < c2  # flagged first
    assert (
        "official 90% · implementers fewer than 5 answers · beneficiaries 36/100 · gap +54" in text
    )
    assert "official none recorded · not in this round" in text


def test_results_for_respondents() -> None:
    result = golden().commitment("C1")
    text = as_plain_text(
        results_message(t_for("en"), INFO, result, TITLES["C1"], "en", 5)  # type: ignore[arg-type]
    )
    assert "11 people answered about this commitment" in text
    assert text.index("Beneficiaries") < text.index("Implementers")
    assert "Change for people: 36/100" in text
    assert "Comments: positive 25% · neutral 25% · negative 50%" in text
    assert "Some figures are not shown because fewer than 5 people answered them." in text


@pytest.mark.parametrize(
    ("people", "shown"), [pytest.param(4, False, id="N-1"), pytest.param(5, True, id="N")]
)
def test_results_at_the_threshold(people: int, shown: bool) -> None:
    counts = RoundCounts(
        questions={("C2", Role.BENEFICIARY, "change"): QuestionTally(people, 0, {"major": people})}
    )
    result = summarise(PROGRESS, counts, targets=[("C2", "beneficiary")], min_group_size=5)
    text = as_plain_text(
        results_message(t_for("es"), INFO, result.commitment("C2"), TITLES["C2"], "es", 5)  # type: ignore[arg-type]
    )
    assert ("Cambio para las personas: 75/100" in text) is shown
    assert ("Respondieron menos de 5 personas" in text) is not shown


def test_trend() -> None:
    now = golden().commitment("C1")
    earlier = RoundInfo(7, PROGRESS.title, "closed", datetime(2026, 1, 10, 9, 0, tzinfo=MX))
    points = [TrendPoint(earlier, now, 5), TrendPoint(INFO, now, 5)]  # type: ignore[arg-type]
    text = plain(trend_sections(t_for("en"), "C1", TITLES["C1"], points, "en"))
    assert text.index("Round 7") < text.index("Round 12")
    assert "Round 7 · January 10, 2026" in text
    assert "Beneficiaries (7 of 10 completed): Change for people 36/100" in text
    assert "Change for people 36/100" in text
    assert "Perceived progress fewer than 5 answers" in text
    assert "No round" in plain(trend_sections(t_for("en"), "C9", None, [], "en"))


def test_split_keeps_sections_whole_and_under_the_limit() -> None:
    sections = [f"section {i}\n" + "x" * 1500 for i in range(7)]
    messages = split_messages(sections)
    assert all(telegram_length(m) <= 4096 for m in messages)
    assert len(messages) == 4  # two 1,510-character sections fit in one message
    assert "\n\n".join(messages) == "\n\n".join(sections)


def test_split_breaks_a_long_section_between_lines() -> None:
    long_section = "\n".join(f"line {i} " + "y" * 90 for i in range(100))
    messages = split_messages(["head", long_section, "tail"])
    assert all(telegram_length(m) <= 4096 for m in messages)
    assert messages[0] == "head"
    assert messages[-1] == "tail"
    assert "\n".join(messages[1:-1]) == long_section


def test_split_counts_emoji_as_telegram_does() -> None:
    emoji = "📊" * 2048  # 4,096 UTF-16 units: exactly one message
    assert split_messages([emoji, "a"]) == [emoji, "a"]


def test_a_summary_of_many_commitments_is_split_into_valid_messages() -> None:
    sections = summary_sections(t_for("es"), digest(), "es") * 12
    messages = split_messages(sections)
    assert len(messages) > 1
    for message in messages:
        assert telegram_length(message) <= 4096
        parse_html(message, strict=True)
