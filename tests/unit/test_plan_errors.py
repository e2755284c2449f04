"""The domain error hierarchy: one message id per error, params for its placeholders."""

from typing import ClassVar

import pytest

import surveys.answers
import surveys.loader  # noqa: F401 - imported so every error class is defined
from surveys import errors
from surveys.errors import FileProblem, PlanFileError, PulsoError, error_keys


def all_error_classes() -> list[type[PulsoError]]:
    found: list[type[PulsoError]] = []
    pending: list[type[PulsoError]] = [PulsoError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_has_its_own_message_id() -> None:
    classes = all_error_classes()
    keys = [cls.key for cls in classes]
    assert len(keys) == len(set(keys))
    assert error_keys() >= {
        "error.plan_file.invalid",
        "error.answer.invalid_option",
        "error.answer.too_many_choices",
        "error.answer.too_long",
        "error.answer.required",
        "error.not_found.commitment",
        "error.not_found.question",
    }
    assert all(key.startswith("error.") for key in keys)


def test_a_new_error_without_its_own_key_is_refused() -> None:
    with pytest.raises(TypeError, match="own `key`"):

        class Forgetful(errors.NotFound):  # pragma: no cover - never defined
            pass


def test_a_new_error_is_one_subclass_and_a_key() -> None:
    class ExampleClosed(PulsoError):
        key: ClassVar[str] = "error.example.closed"
        template: ClassVar[str] = "round {round_id} is closed"

    error = ExampleClosed(round_id=7)
    assert (str(error), error.params) == ("round 7 is closed", {"round_id": 7})
    assert "error.example.closed" in error_keys()


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        pytest.param(
            FileProblem("plan.yaml", 14, "commitments[2].title.en", "missing", "an English text"),
            "plan.yaml:14: commitments[2].title.en: missing; expected an English text",
            id="with-line",
        ),
        pytest.param(
            FileProblem("plan.yaml", None, "(file)", "not found"),
            "plan.yaml: (file): not found",
            id="without-line-or-expectation",
        ),
    ],
)
def test_file_problems_read_as_file_line_field_message(problem: FileProblem, text: str) -> None:
    assert str(problem) == text


def test_plan_file_errors_list_problems_in_file_and_line_order() -> None:
    error = PlanFileError(
        [
            FileProblem("b.yaml", 2, "x", "bad"),
            FileProblem("a.yaml", 9, "y", "bad"),
            FileProblem("a.yaml", 3, "z", "bad"),
        ]
    )
    assert str(error).splitlines() == ["a.yaml:3: z: bad", "a.yaml:9: y: bad", "b.yaml:2: x: bad"]
    assert error.params["count"] == 3
    assert error.key == "error.plan_file.invalid"
