"""The journey's pure decisions: the one gate for survey input (check_move), what a move
does (decide), invites, demographics, dates, and how buttons are laid out."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import local_datetime
from bot.storage.repositories.invites import Invite
from bot.storage.repositories.responses import Response
from handlers.keyboards import as_plain, choice_rows, shorten
from handlers.texts.answers import describe_answer
from surveys.answers import Answer
from surveys.errors import BadInviteDays, BadInviteRole, BadInviteUses
from surveys.flow import (
    STALE,
    Decision,
    Move,
    Refusal,
    SurveyState,
    check_move,
    decide,
    next_demographic,
)
from surveys.instruments import Instrument, Role, builtin_instrument
from surveys.invites import (
    hash_token,
    invite_link,
    invite_problem,
    new_token,
    parse_invite_request,
    token_from,
)
from surveys.loader import load_plan
from tests.e2e.harness import EXAMPLE_PLAN

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
CLOSES = NOW + timedelta(days=7)
PROGRESS = builtin_instrument("progress")
ME = 7


def response(**changes: object) -> Response:
    base = Response(
        id=1,
        round_id=1,
        participant_id=ME,
        commitment_id="JAL0001",
        role="beneficiary",
        status="started",
        cursor=None,
        prompt_message_id=10,
        started_at=NOW,
        completed_at=None,
        round_status="open",
        round_closes_at=CLOSES,
        round_closed_at=None,
        instrument_pk=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def choice(question: str, code: str, score: float | None = None) -> Answer:
    return Answer(question_id=question, codes=(code,), score=score)


FIRST_THREE = {
    "change": choice("change", "marginal", 50),
    "say": choice("say", "consulted", 50),
    "response": choice("response", "acted", 100),
}


def state(answers: dict[str, Answer] | None = None, **changes: object) -> SurveyState:
    return SurveyState(response(**changes), PROGRESS, answers or {})


def refused(state_: SurveyState | None, move: Move, participant: int | None = ME) -> str:
    with pytest.raises(Refusal) as caught:
        check_move(state_, move, participant_id=participant, now=NOW)
    return caught.value.notice.key


# --- check_move ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("survey", "move", "participant"),
    [
        pytest.param(None, Move("answer", "change", "marginal"), ME, id="no-such-response"),
        pytest.param(state(), Move("answer", "change", "marginal"), 99, id="someone-else"),
        pytest.param(
            state(participant_id=None), Move("answer", "change", "major"), ME, id="forgot"
        ),
        pytest.param(state(), Move("answer", "say", "decided"), ME, id="not-in-front"),
        pytest.param(state(), Move("answer", "nothing", "x"), ME, id="unknown-question"),
        pytest.param(state(), Move("answer", "completion", "limited"), ME, id="other-role"),
        pytest.param(state(), Move("answer", "change", "splendid"), ME, id="no-such-option"),
        pytest.param(state(), Move("answer", "change"), ME, id="no-option"),
        pytest.param(state(), Move("toggle", "change", "major"), ME, id="toggle-on-a-scale"),
        pytest.param(state(), Move("skip", "change"), ME, id="skip-required"),
        pytest.param(state(), Move("back", "change"), ME, id="back-from-the-first"),
        pytest.param(state(), Move("done", "change"), ME, id="keep-unanswered"),
        pytest.param(state(), Move("text", "change", text="hola"), ME, id="text-to-a-choice"),
        pytest.param(state(status="pending"), Move("answer", "change", "major"), ME, id="pending"),
        pytest.param(
            state(FIRST_THREE, status="completed"),
            Move("answer", "trust", "more"),
            ME,
            id="completed-not-revising",
        ),
    ],
)
def test_forged_or_stale_input_is_refused(
    survey: SurveyState | None, move: Move, participant: int | None
) -> None:
    assert refused(survey, move, participant) == STALE.key


def test_a_closed_round_says_when() -> None:
    closed_at = NOW - timedelta(hours=2)
    with pytest.raises(Refusal) as caught:
        check_move(
            state(round_status="closed", round_closed_at=closed_at),
            Move("answer", "change", "major"),
            participant_id=ME,
            now=NOW,
        )
    assert caught.value.notice.key == "journey.survey.closed"
    assert caught.value.notice.params == {"closed_on": closed_at}


def test_a_round_past_its_deadline_is_closed_even_before_the_job_runs() -> None:
    late = state(round_closes_at=NOW - timedelta(seconds=1))
    assert refused(late, Move("answer", "change", "major")) == "journey.survey.closed"
    cancelled = state(round_status="cancelled")
    assert refused(cancelled, Move("answer", "change", "major")) == "journey.survey.cancelled"


@pytest.mark.parametrize(
    ("survey", "move"),
    [
        pytest.param(state(), Move("answer", "change", "major"), id="answer"),
        pytest.param(state(FIRST_THREE), Move("back", "trust"), id="back"),
        pytest.param(
            state(FIRST_THREE, cursor="say"), Move("done", "say"), id="keep-while-walking-back"
        ),
        pytest.param(
            state(FIRST_THREE, status="completed", cursor="change"),
            Move("answer", "change", "worsened"),
            id="revising",
        ),
        pytest.param(
            state({**FIRST_THREE, "trust": choice("trust", "more", 100)}),
            Move("text", "what_changed", text="algo"),
            id="text",
        ),
        pytest.param(
            state({**FIRST_THREE, "trust": choice("trust", "more", 100)}),
            Move("skip", "what_changed"),
            id="skip-optional",
        ),
    ],
)
def test_fitting_input_passes_the_gate(survey: SurveyState, move: Move) -> None:
    assert check_move(survey, move, participant_id=ME, now=NOW).id == move.question_id


# --- decide ---------------------------------------------------------------------------------


def moved(survey: SurveyState, move: Move) -> Decision:
    question = check_move(survey, move, participant_id=ME, now=NOW)
    return decide(survey, question, move)


def test_an_answer_moves_to_the_next_unanswered_question() -> None:
    decision = moved(state(), Move("answer", "change", "major"))
    assert decision.save == choice("change", "major", 75)
    assert decision.show is not None
    assert decision.show.id == "say"
    assert (decision.cursor, decision.in_place, decision.complete) == (None, False, False)


def test_changing_an_answer_drops_the_question_it_no_longer_opens() -> None:
    survey = state(FIRST_THREE, cursor="say")
    decision = moved(survey, Move("answer", "say", "none"))
    assert decision.delete == ("response",)
    assert "response" not in decision.answers
    assert decision.show is not None
    assert decision.show.id == "trust"  # unanswered: the walk ends, the cursor clears
    assert decision.cursor is None


def test_back_then_keep_walks_through_answered_questions() -> None:
    back = moved(state(FIRST_THREE), Move("back", "trust"))
    assert (back.cursor, back.in_place, back.save) == ("response", True, None)
    walking = state(FIRST_THREE, cursor="response")
    again = moved(walking, Move("back", "response"))
    assert again.cursor == "say"
    keep = moved(state(FIRST_THREE, cursor="say"), Move("done", "say"))
    assert keep.save is None  # nothing changed
    assert (keep.cursor, keep.show.id if keep.show else None) == ("response", "response")


def test_the_last_answer_completes_a_first_pass_and_ends_a_revision() -> None:
    answered = {
        **FIRST_THREE,
        "trust": choice("trust", "more", 100),
        "what_changed": Answer(question_id="what_changed", text="Más luz"),
        "should_change": Answer.skip("should_change"),
    }
    first_pass = moved(state(answered), Move("answer", "may_quote", "yes"))
    assert (first_pass.show, first_pass.complete) == (None, True)
    done = {**answered, "may_quote": choice("may_quote", "yes", 100)}
    revising = state(done, status="completed", cursor="trust")
    walk = moved(revising, Move("done", "trust"))
    assert walk.show is not None
    assert walk.show.id == "what_changed"  # answered, but a revision visits every question
    end = moved(state(done, status="completed", cursor="may_quote"), Move("done", "may_quote"))
    assert (end.show, end.complete, end.cursor) == (None, False, None)


def test_texts_are_checked_and_kept_as_written() -> None:
    survey = state({**FIRST_THREE, "trust": choice("trust", "more", 100)})
    decision = moved(survey, Move("text", "what_changed", text="  Hay <más> luz  "))
    assert decision.save == Answer(question_id="what_changed", text="Hay <más> luz")
    with pytest.raises(Refusal) as caught:
        moved(survey, Move("text", "what_changed", text="x" * 501))
    assert caught.value.notice.key == "error.answer.too_long"
    assert caught.value.notice.params["length"] == 501


def multi_state(codes: tuple[str, ...] = (), required: bool = True) -> SurveyState:
    instrument = Instrument.model_validate(
        {
            "id": "m",
            "version": 1,
            "title": {"es": "t", "en": "t"},
            "intro": {"es": "i", "en": "i"},
            "outro": {"es": "o", "en": "o"},
            "questions": [
                {
                    "id": "colors",
                    "type": "multi",
                    "required": required,
                    "max_choices": 2,
                    "text": {"es": "¿Colores?", "en": "Colours?"},
                    "options": [
                        {"code": c, "label": {"es": c, "en": c}} for c in ("red", "green", "blue")
                    ],
                },
                {"id": "after", "type": "yes_no", "text": {"es": "¿Y?", "en": "And?"}},
            ],
        }
    )
    answers = {"colors": Answer(question_id="colors", codes=codes)} if codes else {}
    cursor = "colors" if codes else None
    return SurveyState(response(cursor=cursor), instrument, answers)


def test_toggles_add_and_remove_choices_and_stay_on_the_question() -> None:
    added = moved(multi_state(("red",)), Move("toggle", "colors", "blue"))
    assert added.save == Answer(question_id="colors", codes=("red", "blue"))
    assert (added.cursor, added.in_place) == ("colors", True)
    emptied = moved(multi_state(("red",)), Move("toggle", "colors", "red"))
    assert (emptied.save, emptied.delete) == (None, ("colors",))
    with pytest.raises(Refusal) as caught:
        moved(multi_state(("red", "blue")), Move("toggle", "colors", "green"))
    assert caught.value.notice.key == "error.answer.too_many_choices"


def test_done_needs_a_choice_unless_the_question_is_optional() -> None:
    with pytest.raises(Refusal) as caught:
        moved(multi_state(), Move("done", "colors"))
    assert caught.value.notice.key == "error.answer.required"
    skipped = moved(multi_state(required=False), Move("done", "colors"))
    assert skipped.save == Answer.skip("colors")
    finished = moved(multi_state(("red",)), Move("done", "colors"))
    assert finished.show is not None
    assert (finished.show.id, finished.cursor) == ("after", None)


def test_answers_read_in_the_options_order() -> None:
    question = multi_state().instrument.questions[0]
    answer = Answer(question_id="colors", codes=("blue", "red"))
    assert describe_answer(question, answer, "es") == "red, blue"
    assert describe_answer(question, Answer.skip("colors"), "es") is None


# --- invites --------------------------------------------------------------------------------


def invite(**changes: object) -> Invite:
    base = Invite(
        id=1,
        token_hash="h",
        commitment_id="JAL0001",
        role="beneficiary",
        max_uses=2,
        uses=0,
        expires_at=NOW + timedelta(days=1),
        revoked_at=None,
        created_by=None,
        created_at=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        pytest.param(invite(), None, id="usable"),
        pytest.param(None, "unknown", id="unknown"),
        pytest.param(invite(revoked_at=NOW), "revoked", id="revoked"),
        pytest.param(invite(expires_at=NOW), "expired", id="expired"),
        pytest.param(invite(uses=2), "used_up", id="used-up"),
        pytest.param(invite(uses=2, revoked_at=NOW), "revoked", id="revoked-says-revoked"),
    ],
)
def test_why_an_invite_cannot_be_used(found: Invite | None, expected: str | None) -> None:
    assert invite_problem(found, NOW) == expected


def test_tokens_are_long_random_url_safe_and_stored_hashed() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == 32  # 24 random bytes: 192 bits
        assert token.replace("-", "").replace("_", "").isalnum()
    token = next(iter(tokens))
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    link = invite_link("@pulso_bot", token)
    assert link == f"https://t.me/pulso_bot?start={token}"
    assert token_from(link) == token
    assert token_from(f"  {token} ") == token


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("jal0004", "beneficiary"), ("JAL0004", Role.BENEFICIARY, 1, 14), id="default"
        ),
        pytest.param(
            ("JAL0004", "Implementadora", "40", "30"),
            ("JAL0004", Role.IMPLEMENTER, 40, 30),
            id="es",
        ),
        pytest.param(("JAL0004", "nobody"), BadInviteRole, id="role"),
        pytest.param(("JAL0004", "beneficiary", "0"), BadInviteUses, id="zero-uses"),
        pytest.param(("JAL0004", "beneficiary", "2.5"), BadInviteUses, id="fraction"),
        pytest.param(("JAL0004", "beneficiary", "10001"), BadInviteUses, id="too-many"),
        pytest.param(("JAL0004", "beneficiary", "5", "366"), BadInviteDays, id="too-long"),
    ],
)
def test_invite_requests_are_read_or_refused(args: tuple[str, ...], expected: object) -> None:
    if isinstance(expected, type):
        with pytest.raises(expected):
            parse_invite_request(*args)
        return
    request = parse_invite_request(*args)
    assert (request.commitment_id, request.role, request.uses, request.days) == expected


# --- onboarding and dates -------------------------------------------------------------------


def test_demographics_are_asked_in_order_and_each_once() -> None:
    plan = load_plan(EXAMPLE_PLAN).plan
    first = next_demographic(plan, {})
    assert first is not None
    assert (first.question.id, first.number, first.total) == ("age_band", 1, 3)
    skipped = next_demographic(plan, {"age_band": None})
    assert skipped is not None
    assert skipped.question.id == "gender"
    everything = {q.id: None for q in plan.demographics}
    assert next_demographic(plan, everything) is None
    assert next_demographic(None, {}) is None


def test_dates_read_naturally_in_each_language_on_the_local_clock() -> None:
    mexico = ZoneInfo("America/Mexico_City")
    assert local_datetime(CLOSES, "es", mexico) == "9 de marzo de 2026, 10:00"
    assert local_datetime(CLOSES, "en", mexico) == "March 9, 2026, 10:00"


# --- buttons ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param([str(n) for n in range(11)], [6, 5], id="rating"),
        pytest.param(["Sí", "No"], [2], id="yes-no"),
        pytest.param(["Not started", "Limited", "Substantial", "Complete"], [2, 2], id="irm"),
        pytest.param(
            ["Totalmente en desacuerdo", "En desacuerdo", "De acuerdo"], [1, 1, 1], id="long"
        ),
        pytest.param(["1", "2", "3"], [3], id="few-numbers"),
        pytest.param([], [], id="none"),
    ],
)
def test_buttons_are_laid_out_to_fit_a_phone(labels: list[str], expected: list[int]) -> None:
    rows = choice_rows(labels)
    assert [len(row) for row in rows] == expected
    assert [i for row in rows for i in row] == list(range(len(labels)))


def test_long_texts_are_shortened_at_a_word_and_toasts_are_plain() -> None:
    assert shorten("uno dos tres cuatro", 12) == "uno dos…"
    assert shorten("corto", 12) == "corto"
    assert as_plain("<b>Esta</b> ronda &amp; &lt;otra&gt;") == "Esta ronda & <otra>"
    assert len(as_plain("x " * 300)) <= 200


# --- retyped texts ---------------------------------------------------------------------------


def test_a_text_retyped_word_for_word_repeats_the_earlier_answer_not_the_next() -> None:
    wrote = Answer(question_id="what_changed", text="Nadie nos avisa de nada")
    survey = state({**FIRST_THREE, "trust": choice("trust", "same"), "what_changed": wrote})
    (should_change,) = [q for q in survey.asked() if q.id == "should_change"]
    (what_changed,) = [q for q in survey.asked() if q.id == "what_changed"]
    assert survey.repeats_earlier_text(should_change, "  Nadie nos avisa de nada ")
    # Something new is an answer; and a question is never its own earlier text.
    assert not survey.repeats_earlier_text(should_change, "Que avisen por WhatsApp")
    assert not survey.repeats_earlier_text(what_changed, "Nadie nos avisa de nada")
