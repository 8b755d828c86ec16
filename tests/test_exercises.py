"""helpers.exercises.attempt: the safe call every exercise checker starts with."""

import pytest

from helpers.exercises import NOT_ATTEMPTED, attempt


def test_a_working_function_gives_its_result():
    assert attempt(lambda a, b: a * b, 6, 7) == (True, 42)
    assert attempt(lambda: None) == (True, None)  # None is a result, not a failure


def test_a_stub_is_not_attempted_yet():
    def stub(frames):
        raise NotImplementedError("your code here")

    ok, message = attempt(stub, "AA-B")
    assert ok is False and message == NOT_ATTEMPTED
    assert message.startswith("Not attempted yet") and "raise NotImplementedError" in message


@pytest.mark.parametrize("fn, args, name, text", [
    (lambda x: 1 / x, (0,), "ZeroDivisionError", "division by zero"),
    (lambda s: s.nope(), ("abc",), "AttributeError", "nope"),
    (lambda xs: xs[5], ([1, 2],), "IndexError", "out of range"),
    (lambda: int("x"), (), "ValueError", "'x'"),
])
def test_any_other_exception_is_reported_not_raised(fn, args, name, text):
    ok, message = attempt(fn, *args)
    assert ok is False and message != NOT_ATTEMPTED
    assert f"raised {name}" in message and text in message


def test_a_subclass_of_not_implemented_error_also_counts_as_not_attempted():
    class Todo(NotImplementedError):
        pass

    def stub():
        raise Todo

    assert attempt(stub) == (False, NOT_ATTEMPTED)


def test_interrupting_the_cell_still_stops_it():
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attempt(interrupted)
