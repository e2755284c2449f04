"""The callback-data codec: round trips, the 64-byte limit, and forged payloads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.callback_data import (
    MAX_BYTES,
    ChooseLanguage,
    ConfirmForget,
    Consent,
    Demographic,
    FeedbackAbout,
    StartSurvey,
    SurveyPress,
    WizardStep,
    decode,
    encode,
    matches,
)

codes = st.from_regex(r"[a-z0-9_]{1,16}", fullmatch=True)
ids = st.integers(min_value=1, max_value=10**17)
tokens = st.from_regex(r"[A-Za-z0-9_-]{22,43}", fullmatch=True)

payloads = st.one_of(
    st.sampled_from([ChooseLanguage("es"), ChooseLanguage("en")]),
    st.builds(Consent, st.booleans(), tokens),
    st.builds(Demographic, codes, st.one_of(st.none(), codes)),
    st.builds(StartSurvey, ids),
    st.builds(SurveyPress, st.sampled_from(["answer", "toggle"]), ids, codes, codes),
    st.builds(SurveyPress, st.sampled_from(["done", "skip", "back"]), ids, codes),
    st.builds(ConfirmForget, st.booleans()),
    st.builds(WizardStep, codes, codes),
    st.builds(FeedbackAbout, st.from_regex(r"[A-Z0-9][A-Z0-9_-]{0,15}", fullmatch=True)),
)


@given(payloads)
def test_every_payload_round_trips_within_64_bytes(payload) -> None:
    text = encode(payload)
    assert len(text.encode()) <= MAX_BYTES
    assert decode(text) == payload


@given(st.text(max_size=80))
def test_decoding_anything_never_raises(text: str) -> None:
    result = decode(text)
    if result is not None:
        assert encode(result) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("a:1:q1", id="answer-without-code"),
        pytest.param("a:0:q1:x", id="zero-id"),
        pytest.param("a:-1:q1:x", id="negative-id"),
        pytest.param("a:1:Q1:x", id="uppercase-question"),
        pytest.param("a:1:q1:x:extra", id="extra-field"),
        pytest.param("s:abc", id="non-numeric"),
        pytest.param("l:fr", id="unknown-language"),
        pytest.param("c:y:short", id="short-token"),
        pytest.param("z:1", id="unknown-action"),
        pytest.param("a:1:q1:" + "x" * 70, id="too-long"),
        pytest.param("d:1:q1:x", id="done-with-code"),
        pytest.param("e:jal0001", id="lowercase-commitment"),
        pytest.param("e:JAL0001:x", id="feedback-extra-field"),
        pytest.param("e:", id="feedback-without-commitment"),
    ],
)
def test_forged_payloads_are_rejected(text: str) -> None:
    assert decode(text) is None


def test_an_unencodable_value_is_refused() -> None:
    with pytest.raises(ValueError, match="not encodable"):
        encode(SurveyPress("answer", 1, "Not A Code", "x"))


# --- routing: the patterns handlers register with -------------------------------------------

KINDS = (
    ChooseLanguage,
    Consent,
    Demographic,
    StartSurvey,
    SurveyPress,
    ConfirmForget,
    FeedbackAbout,
    WizardStep,
)


@given(payloads)
def test_a_pattern_takes_its_own_type_and_no_other(payload) -> None:
    text = encode(payload)
    for kind in KINDS:
        assert matches(kind)(text) is isinstance(payload, kind)


def test_a_pattern_may_take_several_types() -> None:
    started = matches(StartSurvey, SurveyPress)
    assert started("s:12")
    assert started("k:12:why")
    assert not started("f:y")


def test_field_values_narrow_a_pattern() -> None:
    roles = matches(WizardStep, step="roles")
    assert roles("w:roles:beneficiary")
    assert not roles("w:opens:now")
    assert matches(SurveyPress, action="answer", code="yes")("a:3:again:yes")
    assert not matches(SurveyPress, action="answer", code="yes")("m:3:again:yes")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("c:y:short", id="malformed"),
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
        pytest.param(Consent(True, "x" * 20), id="not-a-string"),
    ],
)
def test_a_pattern_refuses_what_does_not_decode(data: object) -> None:
    assert not matches(Consent)(data)


def test_a_pattern_with_a_field_its_types_lack_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not a field"):
        matches(Consent, StartSurvey, token="x")
    with pytest.raises(ValueError, match="at least one"):
        matches()


def test_a_press_is_parsed_once_however_many_patterns_look_at_it() -> None:
    text = "a:987654:again:yes"
    assert decode(text) is decode(text)
