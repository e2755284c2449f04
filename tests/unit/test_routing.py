"""Which registered handler takes a press: routed by the type its payload decodes to.

Builds the real handler table (:func:`handlers.register_all`) without a network and
asks PTB's own ``check_update`` which handler of group 0 takes each payload, as the
application does: the first that matches. Anything no type routes (malformed, or a
wizard button outside its conversation for non-admins too) ends at the stale-button
handlers.
"""

from __future__ import annotations

from typing import Any

import pytest
from telegram import CallbackQuery, Update, User
from telegram.ext import Application, BaseHandler, CallbackQueryHandler

from handlers import register_all
from handlers.context import PulsoApplication, PulsoContext

TOKEN = "c:y:" + "t" * 22


@pytest.fixture(scope="module")
def application() -> PulsoApplication:
    app: PulsoApplication = Application.builder().token("123:TEST").build()  # type: ignore[assignment]
    register_all(app)
    return app


def press(data: str) -> Update:
    user = User(id=7, first_name="Ana", is_bot=False)
    query = CallbackQuery(id="1", from_user=user, chat_instance="c", data=data)
    return Update(update_id=1, callback_query=query)


def taker(application: PulsoApplication, data: str) -> BaseHandler[Any, PulsoContext, Any]:
    update = press(data)
    for handler in application.handlers[0]:
        if handler.check_update(update):
            return handler
    raise AssertionError(f"no handler of group 0 takes {data!r}")


@pytest.mark.parametrize(
    ("data", "callback"),
    [
        pytest.param("l:en", "language_chosen", id="language"),
        pytest.param(TOKEN, "consent_pressed", id="consent"),
        pytest.param("g:age_band:-", "demographic_pressed", id="demographic"),
        pytest.param("s:12", "survey_pressed", id="start"),
        pytest.param("a:12:change:marginal", "survey_pressed", id="answer"),
        pytest.param("m:12:topics:roads", "survey_pressed", id="toggle"),
        pytest.param("d:12:topics", "survey_pressed", id="done"),
        pytest.param("k:12:why", "survey_pressed", id="skip"),
        pytest.param("b:12:score", "survey_pressed", id="back"),
        pytest.param("f:y", "forget_pressed", id="forget"),
        pytest.param("e:JAL0001", "feedback_chosen", id="feedback"),
    ],
)
def test_each_payload_type_reaches_its_handler(
    application: PulsoApplication, data: str, callback: str
) -> None:
    assert taker(application, data).callback.__name__ == callback


def test_a_wizard_button_outside_the_wizard_is_stale_for_admins_only(
    application: PulsoApplication,
) -> None:
    handler = taker(application, "w:survey:pulse")
    assert handler.callback.__name__ == "stale_press"
    assert handler is not application.handlers[0][-1]  # the wizard's own: admins only


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("zzz", id="unknown"),
        pytest.param("a:0:q:x", id="malformed"),
        pytest.param("c:y:short", id="short-token"),
        pytest.param("x" * 65, id="too-long"),
    ],
)
def test_a_payload_no_type_routes_is_stale(application: PulsoApplication, data: str) -> None:
    handler = taker(application, data)
    assert handler is application.handlers[0][-1]
    assert isinstance(handler, CallbackQueryHandler)
    assert handler.callback.__name__ == "stale_press"
