"""Self-checks for the exercises of ``04_greedy_ctc``.

Each checker calls the learner's function on cases the notebook did not show, prints what
failed with a hint, and returns True/False; a wrong or unfinished answer never raises.
"""

from __future__ import annotations

from .decoding import BLANK, collapse
from .exercises import NOT_ATTEMPTED, attempt

# (what the case is about, per-frame tokens). The expected answers come from
# helpers.decoding.collapse, the rule the decoders in the notebook use.
COLLAPSE_CASES = (
    ("a run of one letter", "AAAA"),
    ("repeats, no blanks", "CCAATT"),
    ("a blank between two runs of the same letter", "OO-OO"),
    ("blanks between repeated letters of a word (BOOK)", "B-OO-O--KK"),
    ("only blanks", "-------"),
    ("nothing at all (0 frames)", ""),
    ("leading and trailing blanks", "---HI---"),
    ("word delimiters", "WE||-|GO|"),
    ("a word delimiter between blanks", "A-|-B"),
    ("a single frame", "Z"),
    ("an apostrophe, repeats and blanks", "II''-MM--|"),
)


def _random_cases(count: int = 20, seed: int = 4):
    import random

    rng = random.Random(seed)
    return [("random frames", "".join(rng.choice("--|AB") for _ in range(rng.randrange(0, 30))))
            for _ in range(count)]


def expected_collapse(frames: str, blank: str = BLANK) -> str:
    """The CTC collapse of a per-frame token string: merge repeats, then drop blanks."""
    return "".join(collapse(frames, blank=blank))


def _hint(frames: str, got: str, want: str) -> str:
    blanks_first = expected_collapse(frames.replace(BLANK, ""))
    if BLANK in got:
        return "drop the blanks '-' after merging the repeats."
    if got == frames.replace(BLANK, ""):
        return "merge runs of the same token into one before dropping the blanks."
    if got == blanks_first:
        return ("you dropped the blanks before merging, so equal letters on both sides of a "
                "blank merged into one. Merge runs first; a blank between two equal letters "
                "keeps both.")
    if "|" in frames and got.replace("|", "") == want.replace("|", ""):
        return "'|' is an ordinary token here: merge its repeats like a letter and keep it."
    if " " in got:
        return "keep '|' as it is: turning it into spaces is the next step, not this one."
    return ("walk the frames left to right; keep a token when it differs from the previous "
            "frame's token and is not the blank.")


def check_collapse(fn, verbose: bool = True) -> bool:
    """Check ``fn(frames: str) -> str`` (e.g. ``'HH-EE-LL-LLOO|'`` -> ``'HELLO|'``).

    A list of one-character strings is accepted as an answer too.
    """
    say = print if verbose else (lambda *a: None)
    cases = list(COLLAPSE_CASES) + _random_cases()
    for name, frames in cases:
        want = expected_collapse(frames)
        ok, got = attempt(fn, frames)
        if not ok:
            say(got if got == NOT_ATTEMPTED else f"✗ on {name} {frames!r} {got}")
            return False
        if isinstance(got, (list, tuple)) and all(isinstance(t, str) for t in got):
            got = "".join(got)
        if not isinstance(got, str):
            say(f"✗ on {name} {frames!r}: return a string, got {type(got).__name__} {got!r}")
            return False
        if got != want:
            say(f"✗ on {name}: frames {frames!r} should collapse to {want!r}, you returned "
                f"{got!r}.\n  Hint: {_hint(frames, got, want)}")
            return False
    say(f"✓ all {len(cases)} cases pass: repeats, blanks between repeats, all blank, empty, "
        "leading/trailing blanks, word delimiters, and random frame strings.")
    return True
