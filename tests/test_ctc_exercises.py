"""The collapse exercise checker of 04_greedy_ctc."""

from __future__ import annotations

from itertools import groupby

import pytest

from helpers import ctc_exercises as ex


def correct(frames):
    return "".join(token for token, _ in groupby(frames) if token != "-")


def correct_as_list(frames):
    out = []
    for i, token in enumerate(frames):
        if token != "-" and (i == 0 or token != frames[i - 1]):
            out.append(token)
    return out


@pytest.mark.parametrize("frames, collapsed", [
    ("HH-EE-LL-LLOO|", "HELLO|"),
    ("OO-OO", "OO"),
    ("-----", ""),
    ("", ""),
    ("--A--", "A"),
    ("A||-|B", "A||B"),
])
def test_expected_collapse(frames, collapsed):
    assert ex.expected_collapse(frames) == collapsed


def test_cases_cover_what_the_exercise_promises():
    frames = [f for _, f in ex.COLLAPSE_CASES]
    assert "" in frames and any(f and set(f) == {"-"} for f in frames)
    assert any(f.startswith("-") and f.endswith("-") for f in frames)
    assert any("|" in f for f in frames)
    assert any(ex.expected_collapse(f) != ex.expected_collapse(f.replace("-", "")) for f in frames)
    assert "HH-EE-LL-LLOO|" not in frames  # the notebook's own example is not a hidden case


@pytest.mark.parametrize("answer", [correct, correct_as_list])
def test_accepts_correct_answers(answer, capsys):
    assert ex.check_collapse(answer) is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda f: correct(f.replace("-", "")), "dropped the blanks before merging"),
    (lambda f: f.replace("-", ""), "merge runs"),
    (lambda f: "".join(t for t, _ in groupby(f)), "drop the blanks"),
    (lambda f: correct(f).replace("|", " "), "next step"),
    (lambda f: correct(f.replace("|", "")), "ordinary token"),
    (lambda f: correct(f)[:-1] if len(f) > 3 else correct(f), "left to right"),
    (lambda f: len(correct(f)), "return a string"),
    (lambda f: f[100], "IndexError"),
])
def test_rejects_wrong_answers_with_a_hint(wrong, hint, capsys):
    assert ex.check_collapse(wrong) is False
    out = capsys.readouterr().out
    assert hint in out and "✗" in out


def test_not_attempted_is_friendly(capsys):
    def stub(frames):
        raise NotImplementedError("your code here")

    assert ex.check_collapse(stub) is False
    assert "Not attempted yet" in capsys.readouterr().out
    assert ex.check_collapse(stub, verbose=False) is False
    assert capsys.readouterr().out == ""
