"""The words of the government's replies: subjects, stances, published replies, and the
responsiveness figures beside the gap (``/gap``), in a locale. Pure presentation: values
in (from :mod:`bot.accountability`), HTML lines out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Final

from babel.dates import format_date

from bot.accountability import PromiseView, Responsiveness
from bot.i18n import Html, Locale, Translator, babel_locale, local_date
from bot.storage.repositories.accountability import Reply
from surveys.accountability import Item, Stance, Subject
from surveys.locale import LocalizedText

STANCE_ICONS: Final = {Stance.ACT: "🛠️", Stance.DONE: "✅", Stance.IMPOSSIBLE: "🚫"}


def day(value: date, locale: Locale) -> str:
    """A promised date as the results write dates: "20 de marzo de 2026"."""
    return format_date(value, format="long", locale=babel_locale(locale))


def subject_text(t: Translator, locale: Locale, subject: Subject) -> Html:
    if subject.kind == "gap":
        return t("accountability.subject.gap", locale)
    if subject.kind == "theme":
        return t("accountability.subject.theme", locale, term=subject.term)
    return t("accountability.subject.general", locale)


def item_lines(t: Translator, locale: Locale, items: tuple[Item, ...]) -> list[str]:
    """Each subject and what the agency said about it, one block per subject (the text is
    the agency's own: a reply never quotes a participant)."""
    blocks: list[str] = []
    for item in items:
        if item.stance is None:
            continue
        stance = t(f"accountability.stance.{item.stance.value}", locale)
        if item.stance is Stance.ACT and item.by is not None:
            said = t(
                "accountability.item.act",
                locale,
                stance=stance,
                text=item.text,
                by=day(item.by, locale),
            )
        else:
            said = t("accountability.item.other", locale, stance=stance, text=item.text)
        subject = subject_text(t, locale, item.subject)
        blocks.append(f"{STANCE_ICONS[item.stance]} <b>{subject}</b>\n{said}")
    return blocks


def published_message(
    t: Translator, locale: Locale, reply_: Reply, title: LocalizedText, *, to_respondent: bool
) -> Html | None:
    """The published reply, for the Secretariat or for the round's respondents."""
    if reply_.draft is None:
        return None
    key = "accountability.published.respondent" if to_respondent else "accountability.published"
    head = t(key, locale, round=reply_.round_id, title=title.get(locale))
    return Html("\n\n".join([head, *item_lines(t, locale, reply_.draft.items)]))


def responsiveness_lines(
    t: Translator, locale: Locale, found: Mapping[str, list[Responsiveness]]
) -> list[str]:
    """Beside the gap: per commitment, each round's answer (on time / late / never /
    pending) and its promises, kept / partly / broken as the round that checked them
    published (suppressed under MIN_GROUP_SIZE)."""
    if not found:
        return []
    lines: list[str] = [t("accountability.gap.title", locale)]
    for commitment_id in sorted(found):
        for entry in found[commitment_id]:
            reply_ = entry.reply
            kept = [p for p in entry.promises if p.outcome is not None]
            lines.append(
                t(
                    f"accountability.gap.{entry.timeliness}",
                    locale,
                    id=commitment_id,
                    round=reply_.round_id,
                    due=local_date(reply_.due_at, locale),
                )
            )
            if entry.promises:
                lines.append(
                    t(
                        "accountability.gap.promises",
                        locale,
                        promises=len(entry.promises),
                        kept=entry.count("kept"),
                        partly=entry.count("partly"),
                        broken=entry.count("broken"),
                        unchecked=len(entry.promises) - len(kept),
                    )
                )
            for promise in kept:
                lines.append(promise_line(t, locale, promise))
    return lines


def promise_line(t: Translator, locale: Locale, promise: PromiseView) -> str:
    """One checked promise: what was promised by when, and what the round that checked
    it found (its counts withheld under the group size)."""
    assert promise.tally is not None
    assert promise.item.by is not None
    outcome = t(f"accountability.outcome.{promise.outcome}", locale)
    said = {
        "text": promise.item.text,
        "by": day(promise.item.by, locale),
        "round": promise.checked_in or 0,
        "outcome": outcome,
    }
    if promise.outcome == "suppressed":
        return t("accountability.gap.promise_suppressed", locale, **said)
    tally = promise.tally
    return t(
        "accountability.gap.promise",
        locale,
        **said,
        yes=tally.yes,
        partly=tally.partly,
        no=tally.no,
        unknown=tally.unknown,
    )


def chart_notes(
    t: Translator, locale: Locale, found: Mapping[str, Sequence[Responsiveness]]
) -> dict[str, str]:
    """Per commitment, a short plain note for the gap chart: its latest answer (on time,
    late, never, pending) and how many of its checked promises were kept."""
    notes: dict[str, str] = {}
    for commitment_id, entries in found.items():
        if not entries:
            continue
        latest = entries[-1]
        note = t(f"accountability.chart.{latest.timeliness}", locale, round=latest.reply.round_id)
        checked = [p for e in entries for p in e.promises if p.outcome not in (None, "suppressed")]
        if checked:
            kept = sum(1 for p in checked if p.outcome == "kept")
            note = t(
                "accountability.chart.promises", locale, note=note, kept=kept, of=len(checked)
            )
        notes[commitment_id] = str(note)
    return notes


def trend_marks(
    t: Translator, locale: Locale, entries: Sequence[Responsiveness]
) -> dict[int, str]:
    """Per round, a short plain mark for the trend chart under that round: whether the
    government answered it (on time, late, never, pending) and, of the promises the
    round's answer made that later rounds checked, how many were kept."""
    marks: dict[int, str] = {}
    for entry in entries:
        note = t(f"accountability.trend.{entry.timeliness}", locale)
        checked = [p for p in entry.promises if p.outcome not in (None, "suppressed")]
        if checked:
            kept = sum(1 for p in checked if p.outcome == "kept")
            note = t(
                "accountability.trend.promises", locale, note=note, kept=kept, of=len(checked)
            )
        marks[entry.reply.round_id] = str(note)
    return marks
