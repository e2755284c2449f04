"""The participant's screens as Telegram shows them: HTML text and inline buttons.

:mod:`bot.journey` decides *what* is on screen (a question, its stored answer,
a recap…); this module decides how it reads and which buttons it has, and
builds every payload with :mod:`handlers.callback_data`. Texts come from the
catalogs; instrument and plan texts are escaped, since a plan file is input
too. Button labels are plain text (Telegram does not parse them).

Button layouts, so a phone never cuts a label:

* numbers (a 0–10 rating) in rows of six: 0–5 and 6–10;
* short labels (yes/no, the IRM completion scale) two per row;
* anything longer one per row;
* multiple choice one per row, marked ✅ or ⬜, then a "Done" row;
* last, the navigation row: ⬅️ Back · Skip ⏭ · Keep ➡️ (each only when it applies).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Html, Locale, Translator, escape, local_datetime
from bot.journey import (
    FEEDBACK_MAX_LENGTH,
    AlreadyJoined,
    AnsweredScreen,
    CompletedList,
    DemographicStep,
    FeedbackReply,
    IntroScreen,
    MessageScreen,
    Notice,
    QuestionScreen,
    RecapScreen,
    ReturningParticipant,
    Screen,
    StatusChange,
    Welcome,
)
from handlers.callback_data import (
    CallbackData,
    Consent,
    Demographic,
    FeedbackAbout,
    StartSurvey,
    SurveyPress,
    encode,
)
from handlers.texts.answers import describe_answer
from surveys.instruments import QuestionType, Role
from surveys.locale import LocalizedText
from surveys.plan import Commitment

#: Labels up to this many characters sit two to a row.
SHORT_LABEL = 14
#: Labels up to this many characters (numbers) sit six to a row.
TINY_LABEL = 2
#: How much of a question a recap line shows.
RECAP_QUESTION_CHARS = 70
#: How much of a text answer a retired question shows.
ANSWER_PREVIEW_CHARS = 300
#: Telegram shows at most 200 characters in a toast.
TOAST_CHARS = 200


def choice_rows(labels: Sequence[str]) -> list[list[int]]:
    """Indexes of ``labels`` grouped into keyboard rows (see the module docstring)."""
    longest = max((len(label) for label in labels), default=0)
    per_row = 6 if longest <= TINY_LABEL else 2 if longest <= SHORT_LABEL else 1
    if per_row == 6 and len(labels) > 6:
        # Balance the rows (11 ratings: 6 + 5) rather than leave one button alone.
        per_row = (len(labels) + 1) // 2
    indexes = list(range(len(labels)))
    return [indexes[start : start + per_row] for start in range(0, len(indexes), per_row)]


def _button(label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode(data))


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,.;:") + "…"


def as_plain(text: str) -> str:
    """HTML made plain for a toast (callback answers are not parsed): tags out, entities
    decoded, cut to Telegram's limit."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    return shorten(plain, TOAST_CHARS)


def role_name(t: Translator, locale: Locale, role: Role | str) -> Html:
    return t(f"journey.role.{Role(role).value}", locale)


def notice_text(t: Translator, locale: Locale, tz: ZoneInfo, notice: Notice) -> Html:
    """A notice in words; datetimes in its params are written on the local clock."""
    params = {name: _localized(value, locale, tz) for name, value in notice.params.items()}
    return t(notice.key, locale, **params)


def _localized(value: object, locale: Locale, tz: ZoneInfo) -> object:
    if isinstance(value, datetime):
        return local_datetime(value, locale, tz)
    if isinstance(value, LocalizedText):
        return value.get(locale)
    return value


# --- onboarding -----------------------------------------------------------------------------


def consent_notice(
    t: Translator, locale: Locale, commitment: Commitment, role: Role, min_group: int
) -> Html:
    """The short privacy notice shown before anything is stored."""
    return t(
        "journey.consent.notice",
        locale,
        commitment=commitment.title.get(locale),
        role=role_name(t, locale, role),
        min_group=min_group,
    )


def consent_keyboard(t: Translator, locale: Locale, token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_button(t("journey.consent.accept", locale), Consent(True, token))],
            [_button(t("journey.consent.decline", locale), Consent(False, token))],
        ]
    )


def demographic_message(
    t: Translator, locale: Locale, step: DemographicStep
) -> tuple[Html, InlineKeyboardMarkup]:
    question = step.question
    lines: list[str] = []
    if step.number == 1:
        lines += [t("journey.demographics.intro", locale), ""]
    lines += [
        t("journey.demographics.position", locale, number=step.number, total=step.total),
        escape(question.text.get(locale)),
    ]
    labels = [option.label.get(locale) for option in question.options]
    rows = [
        [_button(labels[i], Demographic(question.id, question.options[i].code)) for i in row]
        for row in choice_rows(labels)
    ]
    rows.append([_button(t("journey.demographics.skip", locale), Demographic(question.id, None))])
    return Html("\n".join(lines)), InlineKeyboardMarkup(rows)


def demographic_answered(
    t: Translator, locale: Locale, step: DemographicStep, value: str | None
) -> Html:
    question = step.question
    option = next((o for o in question.options if o.code == value), None)
    shown = (
        t("journey.answered.choice", locale, answer=option.label.get(locale))
        if option is not None
        else t("journey.demographics.skipped", locale)
    )
    return Html(
        "\n".join(
            [
                t("journey.demographics.position", locale, number=step.number, total=step.total),
                escape(question.text.get(locale)),
                shown,
            ]
        )
    )


def welcome_text(t: Translator, locale: Locale, welcome: Welcome) -> Html:
    lines = [
        t(
            "journey.welcome",
            locale,
            commitment=welcome.commitment.title.get(locale),
            role=role_name(t, locale, welcome.role),
        ),
        "",
        t("journey.welcome.next", locale),
    ]
    lines += _open_surveys(t, locale, welcome.open_surveys)
    lines += ["", t("journey.welcome.rights", locale)]
    return Html("\n".join(lines))


def _open_surveys(t: Translator, locale: Locale, count: int) -> list[str]:
    if not count:
        return []
    key = "journey.open_surveys.one" if count == 1 else "journey.open_surveys"
    return ["", t(key, locale, count=count)]


def returning_text(
    t: Translator, locale: Locale, back: AlreadyJoined | ReturningParticipant
) -> Html:
    """/start from someone who already takes part (with or without an invite)."""
    lines: list[str]
    if isinstance(back, AlreadyJoined):
        lines = [
            t(
                "journey.invite.already",
                locale,
                commitment=back.commitment.title.get(locale),
                role=role_name(t, locale, back.role),
            )
        ]
    else:
        lines = [t("journey.returning", locale)]
        lines += [
            t(
                "journey.returning.item",
                locale,
                commitment=commitment.title.get(locale),
                role=role_name(t, locale, role),
            )
            for commitment, role in back.memberships
        ]
    if back.resumed:
        lines += ["", t("journey.resume.done", locale)]
    lines += _open_surveys(t, locale, back.open_surveys)
    if isinstance(back, ReturningParticipant):
        lines += ["", t("journey.returning.help", locale)]
    return Html("\n".join(lines))


def status_text(
    t: Translator, locale: Locale, command: Literal["stop", "resume"], change: StatusChange
) -> Html:
    """The answer to /stop or /resume."""
    key = f"journey.{command}.{'done' if change.changed else 'already'}"
    lines: list[str] = [t(key, locale)]
    if command == "resume":
        lines += _open_surveys(t, locale, change.open_surveys)
    return Html("\n".join(lines))


def feedback_keyboard(locale: Locale, reply: FeedbackReply) -> InlineKeyboardMarkup | None:
    """/feedback's choices as buttons (id and title), for a person in several commitments."""
    if reply.stage != "choose":
        return None
    return InlineKeyboardMarkup(
        [
            [_button(shorten(f"{c.id} · {c.title.get(locale)}", 60), FeedbackAbout(c.id))]
            for c in reply.choices
        ]
    )


def feedback_text(t: Translator, locale: Locale, reply: FeedbackReply) -> Html:
    """The answer to /feedback, or to the comment that followed it."""
    title = reply.commitment.title.get(locale) if reply.commitment is not None else ""
    if reply.stage == "thanks":
        return t("journey.feedback.thanks", locale, commitment=title)
    if reply.stage == "write":
        return t(
            "journey.feedback.write", locale, commitment=title, max_length=FEEDBACK_MAX_LENGTH
        )
    if reply.stage == "too_long":
        return t(
            "journey.feedback.too_long",
            locale,
            length=reply.length,
            max_length=FEEDBACK_MAX_LENGTH,
        )
    if reply.stage == "choose":
        lines = [t("journey.feedback.choose", locale)]
        lines += [
            t(
                "journey.feedback.choice",
                locale,
                id=commitment.id,
                commitment=commitment.title.get(locale),
            )
            for commitment in reply.choices
        ]
        return Html("\n".join(lines))
    return t("journey.feedback.no_commitment", locale)


# --- surveys --------------------------------------------------------------------------------


def question_message(
    t: Translator, locale: Locale, screen: QuestionScreen
) -> tuple[Html, InlineKeyboardMarkup]:
    """A question, its hint, and its buttons; below the question answered just before,
    when the pressed message becomes the next question."""
    question, answer = screen.question, screen.answer
    lines: list[str] = []
    if screen.answered is not None:
        lines += [answered_text(t, locale, screen.answered), ""]
    if screen.revising:
        lines.append(t("journey.question.revising", locale))
    lines += [
        t("journey.question.position", locale, number=screen.number, total=screen.total),
        escape(question.text.get(locale)),
        "",
    ]
    multi = question.type is QuestionType.MULTI
    kept = answer is not None and not multi
    if kept and answer is not None:
        described = describe_answer(question, answer, locale)
        lines.append(
            t("journey.question.current", locale, answer=shorten(described, 200))
            if described is not None
            else t("journey.question.current_skipped", locale)
        )
    if question.type is QuestionType.TEXT:
        key = "journey.question.hint.text_keep" if kept else "journey.question.hint.text"
        lines.append(t(key, locale, max_length=question.max_length or 0))
    elif multi:
        lines.append(t("journey.question.hint.multi", locale, max_choices=question.max_choices))
    elif kept:
        lines.append(t("journey.question.hint.keep", locale))
    return Html("\n".join(lines)), InlineKeyboardMarkup(_question_rows(t, locale, screen))


def _question_rows(
    t: Translator, locale: Locale, screen: QuestionScreen
) -> list[list[InlineKeyboardButton]]:
    question, answer = screen.question, screen.answer
    response_id, qid = screen.survey.response_id, question.id
    chosen = set(answer.codes) if answer is not None else set()
    rows: list[list[InlineKeyboardButton]] = []
    if question.type is QuestionType.MULTI:
        for option in question.choices:
            mark = "✅" if option.code in chosen else "⬜"
            label = f"{mark} {option.label.get(locale)}"
            rows.append([_button(label, SurveyPress("toggle", response_id, qid, option.code))])
        rows.append(
            [_button(t("journey.button.done", locale), SurveyPress("done", response_id, qid))]
        )
    elif question.type is not QuestionType.TEXT:
        options = question.choices
        labels = [option.label.get(locale) for option in options]
        for row in choice_rows(labels):
            rows.append(
                [
                    _button(
                        f"✅ {labels[i]}" if options[i].code in chosen else labels[i],
                        SurveyPress("answer", response_id, qid, options[i].code),
                    )
                    for i in row
                ]
            )
    navigation = []
    if screen.can_back:
        navigation.append(
            _button(t("journey.button.back", locale), SurveyPress("back", response_id, qid))
        )
    if not question.required:
        navigation.append(
            _button(t("journey.button.skip", locale), SurveyPress("skip", response_id, qid))
        )
    if answer is not None and question.type is not QuestionType.MULTI:
        navigation.append(
            _button(t("journey.button.keep", locale), SurveyPress("done", response_id, qid))
        )
    if navigation:
        rows.append(navigation)
    return rows


def answered_text(t: Translator, locale: Locale, screen: AnsweredScreen) -> Html:
    """A question once answered: what was asked and what the person chose."""
    question, answer = screen.question, screen.answer
    described = describe_answer(question, answer, locale)
    if described is None:
        shown = t("journey.answered.skipped", locale)
    elif answer.text is not None:
        shown = t("journey.answered.text", locale, answer=shorten(described, ANSWER_PREVIEW_CHARS))
    else:
        shown = t("journey.answered.choice", locale, answer=described)
    return Html(
        "\n".join(
            [
                t("journey.question.position", locale, number=screen.number, total=screen.total),
                escape(question.text.get(locale)),
                shown,
            ]
        )
    )


def intro_text(t: Translator, locale: Locale, tz: ZoneInfo, screen: IntroScreen) -> Html:
    survey = screen.survey
    return Html(
        "\n".join(
            [
                t("journey.intro.title", locale, title=survey.instrument.title.get(locale)),
                t(
                    "journey.intro.commitment",
                    locale,
                    commitment=survey.commitment.title.get(locale),
                    role=role_name(t, locale, survey.role),
                ),
                "",
                escape(survey.instrument.intro.get(locale)),
                "",
                t(
                    "journey.intro.details"
                    if screen.fewest == screen.most
                    else "journey.intro.details_range",
                    locale,
                    fewest=screen.fewest,
                    most=screen.most,
                    closes=local_datetime(survey.closes_at, locale, tz),
                ),
            ]
        )
    )


def recap_message(
    t: Translator, locale: Locale, tz: ZoneInfo, screen: RecapScreen
) -> tuple[Html, InlineKeyboardMarkup]:
    """Thanks (or "changes saved"), the answers in short, the deadline, what comes next."""
    survey = screen.survey
    lines = [
        t("journey.recap.revised", locale)
        if screen.revised
        else t("journey.recap.thanks", locale, outro=survey.instrument.outro.get(locale)),
        "",
        t("journey.recap.header", locale),
    ]
    for number, (question, answer) in enumerate(screen.items, start=1):
        described = describe_answer(question, answer, locale) if answer is not None else None
        shown = (
            t("journey.recap.answer", locale, answer=shorten(described, 120))
            if described is not None
            else t("journey.recap.skipped", locale)
        )
        asked = shorten(question.text.get(locale), RECAP_QUESTION_CHARS)
        lines.append(t("journey.recap.item", locale, number=number, question=asked, answer=shown))
    closes = local_datetime(survey.closes_at, locale, tz)
    lines += ["", t("journey.recap.until", locale, closes=closes)]
    rows = [[_button(t("journey.button.revise", locale), StartSurvey(survey.response_id))]]
    if screen.next_survey is not None:
        following = screen.next_survey
        lines += [
            "",
            t(
                "journey.recap.next",
                locale,
                title=following.instrument.title.get(locale),
                commitment=following.commitment.title.get(locale),
            ),
        ]
        rows.append(
            [_button(t("journey.button.next", locale), StartSurvey(following.response_id))]
        )
    return Html("\n".join(lines)), InlineKeyboardMarkup(rows)


def completed_message(
    t: Translator, locale: Locale, tz: ZoneInfo, screen: CompletedList
) -> tuple[Html, InlineKeyboardMarkup]:
    lines = [t("journey.survey.all_done", locale)]
    rows = []
    for survey in screen.surveys:
        title = survey.instrument.title.get(locale)
        lines.append(
            t(
                "journey.survey.done_item",
                locale,
                title=title,
                commitment=survey.commitment.title.get(locale),
                closes=local_datetime(survey.closes_at, locale, tz),
            )
        )
        label = t("journey.button.revise_one", locale, commitment=survey.commitment.id)
        rows.append([_button(label, StartSurvey(survey.response_id))])
    return Html("\n".join(lines)), InlineKeyboardMarkup(rows)


def screen_message(
    t: Translator, locale: Locale, tz: ZoneInfo, screen: Screen
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """Any survey screen as a message: its text and buttons (if any)."""
    match screen:
        case IntroScreen():
            return intro_text(t, locale, tz, screen), None
        case QuestionScreen():
            return question_message(t, locale, screen)
        case RecapScreen():
            return recap_message(t, locale, tz, screen)
        case CompletedList():
            return completed_message(t, locale, tz, screen)
        case MessageScreen():
            return notice_text(t, locale, tz, screen.notice), None
    raise AssertionError(f"no drawing for {type(screen).__name__}")
