"""A word n-gram language model and a lexicon for torchaudio's CTC beam search decoder.

torchaudio's :func:`~torchaudio.models.decoder.ctc_decoder` (Flashlight's decoder, from the
``flashlight-text`` package) reads three files:

* **tokens**: one acoustic label per line, in the model's column order (``-`` blank, ``|``
  word separator, ``E``, ``T``, ...): :func:`write_tokens`;
* **lexicon**: one word per line, then its spelling in tokens, ending with ``|``
  (``KNIGHT<TAB>K N I G H T |``): :func:`write_lexicon`;
* **language model**: an n-gram model in ARPA text format, which KenLM (inside
  flashlight-text) loads: :func:`write_arpa` estimates one from :data:`CORPUS` (or any
  sentences) with interpolated Kneser-Ney smoothing.

:func:`build_files` writes all three to a temporary folder; :func:`build_decoder` returns a
decoder; :func:`make_emission` builds hand-made emissions for small experiments.

Everything is upper case, like torchaudio's labels: the lexicon's words, the LM's words and
the tokens must agree exactly (the tokens link spellings to emission columns, the words
link the lexicon to the LM).
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .exercises import NOT_ATTEMPTED, attempt

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
BLANK, SIL = "-", "|"
NO_PROB = -99.0  # log10 probability KenLM and SRILM write for <s> (never predicted)

# A small corpus, one sentence per line. "THE KNIGHT RODE" is frequent, "THE NIGHT" is
# followed by other words; the sample sentence's words occur, but never that sentence.
CORPUS = """\
THE KNIGHT RODE TO THE CASTLE
THE KNIGHT RODE INTO THE FOREST
THE KNIGHT RODE HOME AT NIGHT
THE KNIGHT RODE ALL NIGHT
THE KNIGHT RODE PAST THE GATE
THE KNIGHT RODE BESIDE THE KING
THE KNIGHT RODE AWAY AT THIS MOMENT
THE OLD KNIGHT RODE SLOWLY
A KNIGHT RODE TO THE TOWN
THE KNIGHT DREW HIS SWORD
THE KNIGHT SERVED THE KING
THE KING MADE HIM A KNIGHT
EVERY KNIGHT HAD A HORSE
THE NIGHT WAS DARK AND COLD
THE NIGHT WAS LONG
THE NIGHT CAME SLOWLY
IT WAS A COLD NIGHT
WE WALKED HOME AT NIGHT
THE STARS SHINE AT NIGHT
I HAD A DREAM LAST NIGHT
WE LEAVE TONIGHT
THE KING RIDES TONIGHT
TONIGHT THE CASTLE IS QUIET
I HAD THAT FEELING AGAIN
I HAD THAT BOOK FOR YEARS
HER CURIOSITY WAS GREAT
CURIOSITY KILLED THE CAT
HIS CURIOSITY HAD NO END
SHE SAT BESIDE ME AT THE FIRE
HE STOOD BESIDE ME
AT THIS MOMENT THE KING SPOKE
THIS MOMENT WILL PASS
I REMEMBER THAT MOMENT
THE HORSE RODE ON
"""


def sentences(text: str = CORPUS) -> list[list[str]]:
    """Split ``text`` into sentences (one per line) of upper-case words.

    Keeps letters and apostrophes (the characters torchaudio's labels can spell); other
    characters separate words. Empty lines are skipped.
    """
    out = []
    for line in text.splitlines():
        words = re.findall(r"[A-Z']+", line.upper())
        if words:
            out.append(words)
    return out


# --------------------------------------------------------------------------- estimation


@dataclass
class NgramModel:
    """A backoff n-gram model as an ARPA file holds it.

    ``logprob[n][ngram]`` is log10 p(last word | the others) for each listed n-gram of
    order ``n`` (tuples of words); ``backoff[n][ngram]`` is the log10 backoff weight of an
    n-gram used as a context (absent means 0.0, i.e. weight 1).
    """

    order: int
    logprob: dict[int, dict[tuple, float]] = field(default_factory=dict)
    backoff: dict[int, dict[tuple, float]] = field(default_factory=dict)

    @property
    def vocab(self) -> list[str]:
        """The unigrams, in file order."""
        return [g[0] for g in self.logprob[1]]

    def logprob_of(self, word: str, context: Sequence[str] = ()) -> float:
        """log10 p(word | context) with backoff: the ARPA recursion.

        Uses the longest listed n-gram ``context[-k:] + (word,)``; every shorter context
        left out on the way adds its backoff weight. Unknown words are scored as ``<unk>``.
        """
        if (word,) not in self.logprob[1]:
            word = UNK
        context = tuple(w if (w,) in self.logprob[1] else UNK for w in context)
        context = context[len(context) - min(len(context), self.order - 1):]
        total = 0.0
        while True:
            n = len(context) + 1
            ngram = context + (word,)
            if ngram in self.logprob[n]:
                return total + self.logprob[n][ngram]
            total += self.backoff.get(n - 1, {}).get(context, 0.0)
            context = context[1:]

    def sentence_logprob(self, words: Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """log10 p of a word sequence, scored from ``<s>`` and including ``</s>``."""
        history = [BOS] if bos else []
        total = 0.0
        for w in list(words) + ([EOS] if eos else []):
            total += self.logprob_of(w, history)
            history.append(w)
        return total


def ngram_counts(sents: Iterable[Sequence[str]], order: int) -> dict[int, Counter]:
    """Counts of every n-gram, n = 1..order, in sentences padded as ``<s> ... </s>``.

    ``<s>`` only starts n-grams (nothing is predicted to be ``<s>``), so it is counted as
    a context but never as a predicted word.
    """
    counts = {n: Counter() for n in range(1, order + 1)}
    for words in sents:
        padded = [BOS, *words, EOS]
        for n in range(1, order + 1):
            for i in range(1, len(padded)):  # i: position of the predicted word
                if i - n + 1 >= 0:
                    counts[n][tuple(padded[i - n + 1:i + 1])] += 1
    return counts


def kneser_ney(sents: Iterable[Sequence[str]], order: int = 3, discount: float = 0.75,
               extra_words: Iterable[str] = ()) -> NgramModel:
    """Estimate an interpolated Kneser-Ney model (one discount for all counts).

    For a context ``h`` and a word ``w``::

        p(w | h) = max(a(h w) - D, 0) / a(h •)  +  γ(h) · p(w | h without its first word)
        γ(h)     = D · (number of words seen after h) / a(h •)

    where ``a`` is the raw count for the highest order and for n-grams that start with
    ``<s>``, and otherwise the *continuation count* (how many different words precede the
    n-gram). The lowest order interpolates with a uniform distribution over the vocabulary
    (every word, ``</s>`` and ``<unk>``; ``extra_words`` join the vocabulary without counts).

    Written in ARPA form, listed n-grams get their interpolated probability and each
    context's backoff weight is exactly γ(h), so every distribution sums to one.
    """
    if order < 1:
        raise ValueError("order must be at least 1")
    if not 0 < discount < 1:
        raise ValueError("discount must be between 0 and 1")
    sents = [list(s) for s in sents]
    raw = ngram_counts(sents, order)
    # adjusted counts
    adjusted: dict[int, Counter] = {order: raw[order]}
    for n in range(order - 1, 0, -1):
        cont = Counter()
        for g in raw[n + 1]:
            cont[g[1:]] += 1
        # every n-gram not starting with <s> has a word before it, so cont[g] >= 1
        adjusted[n] = Counter({g: (c if g[0] == BOS else cont[g]) for g, c in raw[n].items()})
    vocab = sorted({w for s in sents for w in s} | set(extra_words) | {EOS, UNK})
    uniform = 1.0 / len(vocab)

    model = NgramModel(order=order, logprob={n: {} for n in range(1, order + 1)},
                       backoff={n: {} for n in range(1, order)})
    prob: dict[tuple, float] = {}  # interpolated probabilities of listed n-grams (linear)
    gamma: dict[tuple, float] = {}

    def lower(ngram: tuple) -> float:
        """p(last | shorter context) through the already estimated lower orders."""
        if len(ngram) == 1:
            return uniform
        shorter = ngram[1:]
        if shorter in prob:
            return prob[shorter]
        return gamma.get(shorter[:-1], 1.0) * lower(shorter)

    for n in range(1, order + 1):
        totals, types = Counter(), Counter()
        for g, a in adjusted[n].items():
            totals[g[:-1]] += a
            types[g[:-1]] += 1
        for h in totals:
            gamma[h] = discount * types[h] / totals[h]
        grams = adjusted[n]
        if n == 1:  # every vocabulary word is listed, seen or not
            grams = {(w,): adjusted[1].get((w,), 0) for w in vocab}
        for g, a in sorted(grams.items()):
            h = g[:-1]
            p = max(a - discount, 0.0) / totals[h] + gamma[h] * lower(g) if totals[h] else lower(g)
            prob[g] = p
            model.logprob[n][g] = math.log10(p)
    for n in range(1, order):
        for g in model.logprob[n]:
            if g in gamma:
                model.backoff[n][g] = math.log10(gamma[g])
    # <s> is a context, never predicted: KenLM expects it among the unigrams
    model.logprob[1] = {(BOS,): NO_PROB, **model.logprob[1]}
    if order > 1:
        model.backoff[1][(BOS,)] = math.log10(gamma[(BOS,)])
    return model


# --------------------------------------------------------------------------- ARPA files


def format_arpa(model: NgramModel) -> str:
    """The ARPA text of ``model``: a ``\\data\\`` header with counts, one section per order.

    Each line is ``log10 prob<TAB>words<TAB>log10 backoff`` (the backoff column only where
    the n-gram is a context of a longer one).
    """
    lines = ["", "\\data\\"]
    lines += [f"ngram {n}={len(model.logprob[n])}" for n in range(1, model.order + 1)]
    for n in range(1, model.order + 1):
        lines += ["", f"\\{n}-grams:"]
        for g, lp in model.logprob[n].items():
            row = f"{lp:.6f}\t{' '.join(g)}"
            if g in model.backoff.get(n, {}):
                row += f"\t{model.backoff[n][g]:.6f}"
            lines.append(row)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def write_arpa(sents: Iterable[Sequence[str]], path, order: int = 3, discount: float = 0.75,
               extra_words: Iterable[str] = ()) -> Path:
    """Estimate a Kneser-Ney model of ``order`` from ``sents`` and write it as ARPA text."""
    path = Path(path)
    path.write_text(format_arpa(kneser_ney(sents, order, discount, extra_words)))
    return path


def read_arpa(path) -> NgramModel:
    """Parse an ARPA file; raise ``ValueError`` if it is not well-formed.

    Checks the ``\\data\\`` header, that each section holds as many n-grams as the header
    says, that each line has the right number of words, and the final ``\\end\\``.
    """
    text = Path(path).read_text()
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines or lines[0] != "\\data\\":
        raise ValueError("an ARPA file starts with a \\data\\ line")
    if lines[-1] != "\\end\\":
        raise ValueError("an ARPA file ends with an \\end\\ line")
    declared, i = {}, 1
    while i < len(lines) and lines[i].startswith("ngram "):
        n, count = lines[i][len("ngram "):].split("=")
        declared[int(n)] = int(count)
        i += 1
    if sorted(declared) != list(range(1, len(declared) + 1)):
        raise ValueError(f"the header lists orders {sorted(declared)}, expected 1..N")
    model = NgramModel(order=len(declared), logprob={n: {} for n in declared},
                       backoff={n: {} for n in declared})
    n = None
    for ln in lines[i:-1]:
        m = re.fullmatch(r"\\(\d+)-grams:", ln)
        if m:
            n = int(m.group(1))
            if n not in declared:
                raise ValueError(f"section \\{n}-grams: is not in the header")
            continue
        if n is None:
            raise ValueError(f"line outside any section: {ln!r}")
        fields = ln.split("\t")
        if len(fields) not in (2, 3) or len(fields[1].split()) != n:
            raise ValueError(f"bad {n}-gram line (want prob<TAB>{n} words[<TAB>backoff]): {ln!r}")
        g = tuple(fields[1].split())
        model.logprob[n][g] = float(fields[0])
        if len(fields) == 3:
            model.backoff[n][g] = float(fields[2])
    for n, count in declared.items():
        if len(model.logprob[n]) != count:
            raise ValueError(f"the header says ngram {n}={count}, the section has "
                             f"{len(model.logprob[n])}")
    return model


# --------------------------------------------------------------------------- lexicon, tokens


def lexicon_line(word: str) -> str:
    """One lexicon line: the word, a TAB, its letters separated by spaces, then ``|``.

    >>> lexicon_line("night")
    'NIGHT\\tN I G H T |'
    """
    word = word.strip().upper()
    if not word or any(c.isspace() for c in word):
        raise ValueError(f"a lexicon word is one non-empty token, got {word!r}")
    return f"{word}\t{' '.join(word)} {SIL}"


def write_lexicon(words: Iterable[str], path) -> Path:
    """Write a lexicon: each distinct word once (sorted), spelled by :func:`lexicon_line`."""
    path = Path(path)
    path.write_text("".join(lexicon_line(w) + "\n" for w in sorted({w.upper() for w in words})))
    return path


def write_tokens(labels: Sequence[str], path) -> Path:
    """Write the tokens file: one label per line, line ``i`` = emission column ``i``."""
    path = Path(path)
    path.write_text("".join(f"{label}\n" for label in labels))
    return path


@dataclass(frozen=True)
class DecoderFiles:
    """Paths of the three files :func:`torchaudio.models.decoder.ctc_decoder` reads."""

    tokens: Path
    lexicon: Path
    lm: Path


def build_files(labels: Sequence[str], text: str = CORPUS, folder=None, order: int = 3,
                extra_words: Iterable[str] = ()) -> DecoderFiles:
    """Write tokens, lexicon (every corpus word plus ``extra_words``) and ARPA LM.

    ``folder`` defaults to a new temporary folder (nothing is written into the repository).
    """
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="w2v-lm-"))
    folder.mkdir(parents=True, exist_ok=True)
    sents = sentences(text)
    extra = [w.upper() for w in extra_words]
    words = {w for s in sents for w in s} | set(extra)
    bad = sorted(w for w in words if set(w) - set(labels))
    if bad:
        raise ValueError(f"words with characters that are not labels: {bad}")
    return DecoderFiles(
        tokens=write_tokens(labels, folder / "tokens.txt"),
        lexicon=write_lexicon(words, folder / "lexicon.txt"),
        lm=write_arpa(sents, folder / f"{order}-gram.arpa", order=order, extra_words=extra),
    )


# --------------------------------------------------------------------------- decoding


def build_decoder(files: DecoderFiles, *, use_lm: bool = True, lexicon: bool = True, **options):
    """torchaudio's ``ctc_decoder`` on ``files``; ``options`` go to it unchanged.

    ``use_lm=False`` decodes without a language model, ``lexicon=False`` without the
    lexicon constraint (any label sequence).
    """
    from torchaudio.models.decoder import ctc_decoder

    with quiet_native_stderr():  # KenLM draws a loading progress bar on every load
        return ctc_decoder(
            lexicon=str(files.lexicon) if lexicon else None,
            tokens=str(files.tokens),
            lm=str(files.lm) if use_lm else None,
            blank_token=BLANK, sil_token=SIL, unk_word=UNK,
            **options,
        )


@contextmanager
def quiet_native_stderr():
    """Silence what compiled code writes to file descriptor 2 while the block runs.

    KenLM prints "Loading the LM will be faster if you build a binary file" and a progress
    bar straight to the process's stderr (not Python's ``sys.stderr``), so Jupyter shows it
    under every cell that builds a decoder. Python exceptions are not affected.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def decode(decoder, emission):
    """The n-best hypotheses for one emission ``(frames, labels)`` (or ``(1, frames, labels)``)."""
    import torch

    e = emission if emission.ndim == 3 else emission[None]
    return decoder(e.detach().to(torch.float32).cpu().contiguous())[0]


def words_of(hypothesis) -> str:
    """The words of a :class:`~torchaudio.models.decoder.CTCHypothesis`, space-separated."""
    return " ".join(hypothesis.words)


def make_emission(frames: Sequence[str | Mapping[str, float]], labels: Sequence[str],
                  peak: float = 0.9):
    """A hand-made emission: ``(frames, labels)`` natural-log probabilities (float32).

    Each item of ``frames`` is a label (it gets probability ``peak``) or a dict
    ``{label: probability}``; the remaining probability of a frame is shared equally by
    the other labels.
    """
    import torch

    out = torch.empty(len(frames), len(labels))
    for t, frame in enumerate(frames):
        want = {frame: peak} if isinstance(frame, str) else dict(frame)
        unknown = set(want) - set(labels)
        if unknown:
            raise ValueError(f"frame {t}: {sorted(unknown)} are not labels")
        rest = 1.0 - sum(want.values())
        if rest < 0 or len(want) == len(labels) and rest > 1e-9:
            raise ValueError(f"frame {t}: probabilities {want} do not leave a valid remainder")
        others = max(len(labels) - len(want), 1)
        row = torch.full((len(labels),), max(rest, 1e-12) / others)
        for label, p in want.items():
            row[labels.index(label)] = p
        out[t] = row.log()
    return out


def spell(text: str) -> list[str]:
    """Frames spelling ``text`` one label per frame, words ending with ``|``.

    Letters repeated inside a word get a blank between them (CTC would merge them).
    """
    frames = []
    for word in text.upper().split():
        for c in word:
            if frames and frames[-1] == c:
                frames.append(BLANK)
            frames.append(c)
        frames.append(SIL)
    return frames


# --------------------------------------------------------------------------- exercises


def _report(ok: bool, message: str) -> bool:
    print(("✔ " if ok else "✘ ") + message)
    return ok


def check_lexicon_line(fn) -> bool:
    """Check a learner's ``fn(word) -> str`` against :func:`lexicon_line` on unseen words."""
    cases = ["CAT", "knight", "Moment", "DON'T", "A", "BOOKKEEPER"]
    for word in cases:
        ok, got = attempt(fn, word)
        if not ok:
            return _report(False, got if got == NOT_ATTEMPTED else f"{got} for the word {word!r}.")
        want = lexicon_line(word)
        if got != want:
            hint = "Upper-case the word and its letters; the tokens are upper case."
            if isinstance(got, str) and got.replace("\t", " ") == want.replace("\t", " "):
                hint = "Separate the word from its spelling with a TAB ('\\t')."
            elif isinstance(got, str) and not got.rstrip().endswith(SIL):
                hint = "Every spelling ends with the word separator '|'."
            elif isinstance(got, str) and "BOOKKEEPER" in want and got.upper() == got:
                hint = ("Keep every letter, doubled ones too: the lexicon lists letters, the "
                        "blanks between repeats are CTC's business, not the lexicon's.")
            return _report(False, f"for {word!r} expected {want!r}, got {got!r}. {hint}")
    return _report(True, f"correct on {len(cases)} words you had not seen.")


# Cases for the lm_weight exercise: (frames, expected words). Where the K is weak the LM
# should restore it; where every letter is clear the acoustics should win.
WEAK_K = {BLANK: 0.85, "K": 0.1}


def _window_cases():
    return [
        (spell("A") + [WEAK_K] + spell("NIGHT RODE TO THE TOWN"), "A KNIGHT RODE TO THE TOWN"),
        (spell("THE KING MADE HIM A") + [WEAK_K] + spell("NIGHT"), "THE KING MADE HIM A KNIGHT"),
        (spell("THE NIGHT CAME SLOWLY"), "THE NIGHT CAME SLOWLY"),
        (spell("IT WAS A COLD NIGHT"), "IT WAS A COLD NIGHT"),
    ]


def check_lm_weight(lm_weight, files: DecoderFiles, labels: Sequence[str],
                    word_score: float = 0.0) -> bool:
    """Check an ``lm_weight`` on unseen sentences: restore a weak K, keep clear words."""
    if lm_weight is None or lm_weight is NotImplemented or lm_weight is ...:
        return _report(False, "Not attempted yet: set my_lm_weight to a number and run the "
                              "cell again.")
    try:
        weight = float(lm_weight)
    except (TypeError, ValueError):
        return _report(False, f"my_lm_weight must be a number, got {lm_weight!r}.")
    if not math.isfinite(weight) or weight < 0:
        return _report(False, f"my_lm_weight must be a finite number ≥ 0, got {weight}.")
    decoder = build_decoder(files, lm_weight=weight, word_score=word_score)
    cases = _window_cases()
    for frames, want in cases:
        got = words_of(decode(decoder, make_emission(frames, labels))[0])
        if got == want:
            continue
        heard = "".join(f if isinstance(f, str) else "(k?)" for f in frames).replace("-", "")
        if len(got.split()) < len(want.split()):
            hint = ("too large: the LM now prefers dropping words (every word costs LM "
                    "probability) over explaining all the letters.")
        elif "KNIGHT" in want and "NIGHT" in got.split():
            hint = "too small: the acoustics still win, the LM needs more say."
        else:
            hint = "too large: the LM overrules clear acoustics."
        return _report(False, f"lm_weight={weight}: the frames {heard!r} decode as {got!r}, "
                              f"expected {want!r}. The weight looks {hint}")
    return _report(True, f"lm_weight={weight} restores the weak K and keeps every clear word "
                         f"in {len(cases)} hand-made emissions you had not seen.")
