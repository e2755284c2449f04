"""The one codec for inline-button payloads: compact strings, parsed once into typed values.

Telegram gives a button at most 64 bytes of callback data and hands back
whatever a client sends, so every press is untrusted input. A payload is an
action letter and colon-separated fields::

    l:es                      language          c:y:<token>    consent yes/no
    g:<question>:<code|->     demographic       s:<response>   start a survey
    a:<response>:<q>:<code>   answer            m:<response>:<q>:<code>  toggle a multi choice
    d:<response>:<q>          multi done        k:<response>:<q>         skip
    b:<response>:<q>          back              f:y / f:n      confirm /forget
    w:<step>:<value>          admin wizard      e:<commitment> /feedback about it
    p:<reply>                 write a reply     q:<reply>:<item>:<stance>  a reply's stance
    u:<reply>:y|n             publish / keep    v:<check>:<answer>  "did the promise happen?"

:func:`decode` returns None for anything malformed; *whether* a well-formed
press may change anything (round open, person targeted, option valid) is
decided by the service that receives it, in one place per action.

The codec also owns the routing: a handler registers with :func:`matches`, a
``CallbackQueryHandler`` pattern that takes the presses whose payload decodes
to one of the given types (and, optionally, has the given field values), so
no other module spells a payload letter::

    CallbackQueryHandler(consent_pressed, pattern=matches(Consent))
    CallbackQueryHandler(survey_chosen, pattern=matches(WizardStep, step="survey"))

A press that no pattern takes (malformed, or a type nobody handles) falls
through to :mod:`handlers.fallback`, which says the button is no longer
valid. PTB calls each candidate handler's pattern with the raw string, so
:func:`decode` keeps a small cache: a press is parsed once however many
patterns look at it (the values are frozen, so sharing them is safe).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

MAX_BYTES = 64
_CODE = re.compile(r"^[a-z0-9_]{1,16}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,60}$")
_NUMBER = re.compile(r"^[1-9][0-9]{0,17}$")
_INDEX = re.compile(r"^(0|[1-9][0-9]?)$")
_COMMITMENT = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")  # surveys.plan's commitment ids


@dataclass(frozen=True, slots=True)
class ChooseLanguage:
    locale: Literal["es", "en"]


@dataclass(frozen=True, slots=True)
class Consent:
    accepted: bool
    token: str


@dataclass(frozen=True, slots=True)
class Demographic:
    question: str
    code: str | None  # None = skipped


@dataclass(frozen=True, slots=True)
class StartSurvey:
    response_id: int


SurveyAction = Literal["answer", "toggle", "done", "skip", "back"]


@dataclass(frozen=True, slots=True)
class SurveyPress:
    action: SurveyAction
    response_id: int
    question: str
    code: str | None = None  # answer and toggle only


@dataclass(frozen=True, slots=True)
class ConfirmForget:
    confirmed: bool


@dataclass(frozen=True, slots=True)
class FeedbackAbout:
    """/feedback's choice of commitment, for a person in several."""

    commitment_id: str


@dataclass(frozen=True, slots=True)
class WizardStep:
    step: str
    value: str


@dataclass(frozen=True, slots=True)
class ReplyOpen:
    """Start or go on writing the government's reply to a round's results."""

    reply_id: int


ReplyStanceCode = Literal["act", "done", "no"]


@dataclass(frozen=True, slots=True)
class ReplyStance:
    reply_id: int
    item: int
    stance: ReplyStanceCode


@dataclass(frozen=True, slots=True)
class ReplyFinish:
    reply_id: int
    publish: bool  # False: keep it as a draft


PromiseCode = Literal["yes", "partly", "no", "unknown"]


@dataclass(frozen=True, slots=True)
class PromisePress:
    check_id: int
    answer: PromiseCode


CallbackData = (
    ChooseLanguage
    | Consent
    | Demographic
    | StartSurvey
    | SurveyPress
    | ConfirmForget
    | FeedbackAbout
    | WizardStep
    | ReplyOpen
    | ReplyStance
    | ReplyFinish
    | PromisePress
)

_SURVEY_LETTERS: dict[str, SurveyAction] = {
    "a": "answer",
    "m": "toggle",
    "d": "done",
    "k": "skip",
    "b": "back",
}
_LETTER_OF: dict[SurveyAction, str] = {v: k for k, v in _SURVEY_LETTERS.items()}


def encode(data: CallbackData) -> str:
    """The payload string for a button; raises ValueError if it would not be valid."""
    match data:
        case ChooseLanguage(locale):
            text = f"l:{locale}"
        case Consent(accepted, token):
            text = f"c:{'y' if accepted else 'n'}:{token}"
        case Demographic(question, code):
            text = f"g:{question}:{code or '-'}"
        case StartSurvey(response_id):
            text = f"s:{response_id}"
        case SurveyPress(action, response_id, question, code):
            tail = f":{code}" if action in ("answer", "toggle") else ""
            text = f"{_LETTER_OF[action]}:{response_id}:{question}{tail}"
        case ConfirmForget(confirmed):
            text = f"f:{'y' if confirmed else 'n'}"
        case FeedbackAbout(commitment_id):
            text = f"e:{commitment_id}"
        case WizardStep(step, value):
            text = f"w:{step}:{value}"
        case ReplyOpen(reply_id):
            text = f"p:{reply_id}"
        case ReplyStance(reply_id, item, stance):
            text = f"q:{reply_id}:{item}:{stance}"
        case ReplyFinish(reply_id, publish):
            text = f"u:{reply_id}:{'y' if publish else 'n'}"
        case PromisePress(check_id, answer):
            text = f"v:{check_id}:{answer}"
    if decode(text) != data:
        raise ValueError(f"not encodable as callback data: {data!r}")
    return text


def decode(text: str | None) -> CallbackData | None:
    """Parse a press; None when the payload is not one Pulso could have made."""
    if not text or len(text.encode()) > MAX_BYTES:
        return None
    return _parse(text)


def matches(*kinds: type[CallbackData], **fields: object) -> Callable[[object], bool]:
    """A ``CallbackQueryHandler`` pattern: true for a payload that decodes to one of
    ``kinds`` whose attributes equal ``fields`` (``matches(WizardStep, step="roles")``)."""
    if not kinds:
        raise ValueError("matches() needs at least one payload type")
    for name in fields:
        if not all(name in kind.__dataclass_fields__ for kind in kinds):
            raise ValueError(f"{name!r} is not a field of every one of {kinds}")

    def pattern(data: object) -> bool:
        decoded = decode(data) if isinstance(data, str) else None
        return isinstance(decoded, kinds) and all(
            getattr(decoded, name) == value for name, value in fields.items()
        )

    wanted = ", ".join([*(k.__name__ for k in kinds), *(f"{k}={v!r}" for k, v in fields.items())])
    pattern.__qualname__ = pattern.__name__ = f"matches({wanted})"
    return pattern


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> CallbackData | None:
    letter, _, rest = text.partition(":")
    fields = rest.split(":") if rest else []
    match letter, fields:
        case "l", [("es" | "en") as locale]:
            return ChooseLanguage(locale)
        case "c", [("y" | "n") as answer, token] if _TOKEN.match(token):
            return Consent(answer == "y", token)
        case "g", [question, code] if _CODE.match(question) and (code == "-" or _CODE.match(code)):
            return Demographic(question, None if code == "-" else code)
        case "s", [response] if _NUMBER.match(response):
            return StartSurvey(int(response))
        case (("a" | "m"), [response, question, code]) if (
            _NUMBER.match(response) and _CODE.match(question) and _CODE.match(code)
        ):
            return SurveyPress(_SURVEY_LETTERS[letter], int(response), question, code)
        case (("d" | "k" | "b"), [response, question]) if _NUMBER.match(response) and _CODE.match(
            question
        ):
            return SurveyPress(_SURVEY_LETTERS[letter], int(response), question)
        case "f", [("y" | "n") as answer]:
            return ConfirmForget(answer == "y")
        case "e", [commitment_id] if _COMMITMENT.match(commitment_id):
            return FeedbackAbout(commitment_id)
        case "w", [step, value] if _CODE.match(step) and 0 < len(value) <= 40:
            return WizardStep(step, value)
        case "p", [reply] if _NUMBER.match(reply):
            return ReplyOpen(int(reply))
        case "q", [reply, item, ("act" | "done" | "no") as stance] if _NUMBER.match(
            reply
        ) and _INDEX.match(item):
            return ReplyStance(int(reply), int(item), stance)
        case "u", [reply, ("y" | "n") as publish] if _NUMBER.match(reply):
            return ReplyFinish(int(reply), publish == "y")
        case "v", [check, ("yes" | "partly" | "no" | "unknown") as answer] if _NUMBER.match(check):
            return PromisePress(int(check), answer)
    return None
