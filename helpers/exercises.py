"""What every exercise checker does first: call the learner's function safely.

A notebook's exercise cell starts as a stub that raises ``NotImplementedError``; a checker
run on it should say "not attempted yet", not crash, so the notebook still runs from top to
bottom. Any other exception is the learner's bug: the checker reports it and returns False,
it never raises. :func:`attempt` does both, so each checker only adds its own context
(which input, which exercise) to the message.
"""

from __future__ import annotations

from collections.abc import Callable

NOT_ATTEMPTED = ("Not attempted yet: replace the `raise NotImplementedError` line with your code, "
                 "run that cell, then run this check again.")


def attempt(fn: Callable, *args) -> tuple[bool, object]:
    """Call ``fn(*args)``: ``(True, result)``, or ``(False, message)`` if it raised.

    The message is :data:`NOT_ATTEMPTED` for ``NotImplementedError`` (compare with ``is``),
    otherwise ``"your function raised <ExceptionType>: <text>"``. Never raises an
    ``Exception``; ``KeyboardInterrupt`` and ``SystemExit`` still stop the cell.
    """
    try:
        return True, fn(*args)
    except NotImplementedError:
        return False, NOT_ATTEMPTED
    except Exception as exc:  # the learner's code may fail in any way: report, never raise
        return False, f"your function raised {type(exc).__name__}: {exc}"
