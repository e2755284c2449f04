"""/mydata's text file: a person's stored data (:class:`bot.journey.rights.MyData`) in
plain text, in their language and on the local wall clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Locale, local_datetime
from bot.journey.rights import MyData
from handlers.texts.answers import describe_answer


def mydata_file(
    data: MyData, messages: Mapping[str, str], locale: Locale, tz: ZoneInfo
) -> tuple[str, bytes]:
    """The file's name and its UTF-8 content; ``messages`` is the locale's catalog."""

    def t(key: str, **params: object) -> str:
        # A plain-text file: the catalog's text filled in without HTML escaping.
        return messages[key].format_map({k: str(v) for k, v in params.items()})

    def when(instant: datetime) -> str:
        return local_datetime(instant, locale, tz)

    participant = data.participant
    lines: list[str] = [t("mydata.title"), t("mydata.generated", when=when(data.generated_at)), ""]
    lines += [
        f"== {t('mydata.section.profile')} ==",
        t("mydata.telegram_id", id=participant.telegram_user_id),
        t("mydata.language", language=t(f"mydata.language.{locale}")),
        t(f"mydata.status.{participant.status}"),
        t("mydata.consented", when=when(participant.consented_at)),
        t("mydata.demographics"),
    ]
    for question, code in data.demographics:
        option = next((o for o in question.options if o.code == code), None)
        value = option.label.get(locale) if option else t("mydata.skipped")
        lines.append(f"  - {question.text.get(locale)}: {value}")
    if not data.demographics:
        lines.append(f"  - {t('mydata.none')}")
    lines += ["", f"== {t('mydata.section.commitments')} =="]
    for membership, commitment in data.memberships:
        lines.append(
            "  - "
            + t(
                "mydata.membership",
                id=commitment.id,
                title=commitment.title.get(locale),
                role=t(f"journey.role.{membership.role}"),
                when=when(membership.joined_at),
            )
        )
    lines += ["", f"== {t('mydata.section.surveys')} =="]
    for stored in data.responses:
        response = stored.response
        lines.append(
            t(
                "mydata.response",
                round=response.round_id,
                title=stored.instrument.title.get(locale),
                commitment=response.commitment_id,
                status=t(f"mydata.response.{response.status}"),
            )
        )
        for asked, answer in stored.answers:
            shown = describe_answer(asked, answer, locale) or t("mydata.answer_skipped")
            lines += [f"  {asked.text.get(locale)}", f"    → {shown}"]
    if not data.responses:
        lines.append(f"  - {t('mydata.none')}")
    lines += ["", f"== {t('mydata.section.feedback')} =="]
    for item in data.feedback:
        lines.append(f"  - {when(item.created_at)} · {item.commitment_id}:")
        lines.append(f"    {item.text}")
    if not data.feedback:
        lines.append(f"  - {t('mydata.none')}")
    lines += ["", f"== {t('mydata.section.not_stored')} ==", t("mydata.not_stored"), ""]
    return t("mydata.filename"), "\n".join(lines).encode("utf-8")
