"""The n-gram LM writer, the lexicon and tokens files, and beam search with them."""

from __future__ import annotations

import math
import os

import pytest
import torch

from helpers import lm
from helpers.decoding import greedy_decode


@pytest.fixture(scope="module")
def labels():
    import torchaudio

    return list(torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H.get_labels())


@pytest.fixture(scope="module")
def files(labels, tmp_path_factory):
    return lm.build_files(labels, folder=tmp_path_factory.mktemp("lm"))


@pytest.fixture(scope="module")
def model(files):
    return lm.read_arpa(files.lm)


# --------------------------------------------------------------------------- ARPA


def test_arpa_layout(files):
    text = files.lm.read_text()
    lines = [ln for ln in text.splitlines() if ln]
    assert lines[0] == "\\data\\" and lines[-1] == "\\end\\"
    declared = {int(ln[6]): int(ln.split("=")[1]) for ln in lines if ln.startswith("ngram ")}
    assert sorted(declared) == [1, 2, 3]
    sections, current = {}, None
    for ln in lines[1:-1]:
        if ln.startswith("\\") and ln.endswith("-grams:"):
            current = int(ln[1])
            sections[current] = []
        elif current is not None:
            sections[current].append(ln)
    assert {n: len(rows) for n, rows in sections.items()} == declared
    for n, rows in sections.items():
        for row in rows:
            fields = row.split("\t")
            assert len(fields) in (2, 3) and len(fields[1].split(" ")) == n, row
            assert float(fields[0]) <= 0
            if n == 3:
                assert len(fields) == 2, "the highest order has no backoff column"
    unigrams = {row.split("\t")[1]: float(row.split("\t")[0]) for row in sections[1]}
    assert {"<s>", "</s>", "<unk>", "KNIGHT", "NIGHT"} <= set(unigrams)
    assert unigrams["<s>"] == lm.NO_PROB


def test_unigrams_sum_to_one(model):
    total = sum(10 ** lp for g, lp in model.logprob[1].items() if g != (lm.BOS,))
    assert total == pytest.approx(1.0, abs=1e-4)


def test_every_context_is_a_distribution(model):
    predicted = [w for w in model.vocab if w != lm.BOS]
    contexts = [g for g in model.logprob[2] if g[-1] != lm.EOS][:40]
    contexts += [(lm.BOS,), ("THE", "KNIGHT"), ("THE", "NIGHT"), ("NEVER", "SEEN")]
    for ctx in contexts:
        total = sum(10 ** model.logprob_of(w, ctx) for w in predicted)
        assert total == pytest.approx(1.0, abs=1e-4), ctx


def test_kneser_ney_by_hand(tmp_path):
    # <s> A B </s> and <s> A </s>, bigram, D = 0.5. Continuation counts: A 1, B 1, </s> 2;
    # 4 words in the vocabulary (A B </s> <unk>): p(B) = 0.5/4 + 0.375/4 = 0.21875.
    path = lm.write_arpa([["A", "B"], ["A"]], tmp_path / "tiny.arpa", order=2, discount=0.5)
    m = lm.read_arpa(path)
    p = {g: 10 ** v for n in (1, 2) for g, v in m.logprob[n].items()}
    assert p[("B",)] == pytest.approx(0.21875, abs=1e-6)
    assert p[("</s>",)] == pytest.approx(0.46875, abs=1e-6)
    assert p[("<unk>",)] == pytest.approx(0.09375, abs=1e-6)
    assert p[("A", "B")] == pytest.approx(0.25 + 0.5 * 0.21875, abs=1e-6)
    assert 10 ** m.backoff[1][("A",)] == pytest.approx(0.5, abs=1e-6)
    assert 10 ** m.logprob_of("A", ["A"]) == pytest.approx(0.5 * 0.21875, abs=1e-6)


def test_kenlm_reads_the_file_and_agrees(files, model):
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import create_word_dict, load_words

    word_dict = create_word_dict(load_words(str(files.lexicon)))
    with lm.quiet_native_stderr():
        kenlm = KenLM(str(files.lm), word_dict)
    for sentence in ("THE KNIGHT RODE", "THE NIGHT RODE", "KNIGHT THE CAT RODE NIGHT",
                     "I HAD THAT CURIOSITY BESIDE ME AT THIS MOMENT"):
        state, total = kenlm.start(False), 0.0
        for w in sentence.split():
            state, score = kenlm.score(state, word_dict.get_index(w))
            total += score
        total += kenlm.finish(state)[1]
        assert total == pytest.approx(model.sentence_logprob(sentence.split()), abs=1e-4)


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.replace("ngram 2=", "ngram 2=1"), "header says"),
    (lambda t: t.replace("\\end\\", ""), "end"),
    (lambda t: t.replace("\\data\\", "data"), "data"),
    (lambda t: t.replace("\tKNIGHT\t", "\tKNIGHT RODE\t", 1), "bad 1-gram"),
])
def test_read_arpa_refuses_damaged_files(files, tmp_path, damage, message):
    bad = tmp_path / "bad.arpa"
    bad.write_text(damage(files.lm.read_text()))
    with pytest.raises(ValueError, match=message):
        lm.read_arpa(bad)


def test_estimation_arguments_are_checked():
    with pytest.raises(ValueError):
        lm.kneser_ney([["A"]], order=0)
    with pytest.raises(ValueError):
        lm.kneser_ney([["A"]], discount=1.5)


# --------------------------------------------------------------------------- lexicon, tokens


def test_lexicon_format(tmp_path):
    from flashlight.lib.text.dictionary import load_words

    path = lm.write_lexicon(["night", "KNIGHT", "Night", "DON'T"], tmp_path / "lexicon.txt")
    assert path.read_text() == "DON'T\tD O N ' T |\nKNIGHT\tK N I G H T |\nNIGHT\tN I G H T |\n"
    parsed = load_words(str(path))
    assert parsed["KNIGHT"] == [["K", "N", "I", "G", "H", "T", "|"]]
    for bad in ("", "TWO WORDS"):
        with pytest.raises(ValueError):
            lm.lexicon_line(bad)


def test_tokens_file_is_the_labels(labels, files):
    assert files.tokens.read_text().splitlines() == labels
    assert len(labels) == 29 and labels[:2] == ["-", "|"]


def test_build_files_refuses_unspellable_words(labels, tmp_path):
    with pytest.raises(ValueError, match="not labels"):
        lm.build_files(labels, folder=tmp_path, extra_words=["CAFÉ"])


def test_sentences_upper_cases_and_splits():
    assert lm.sentences("the Knight, rode!\n\nDON'T stop\n") == [["THE", "KNIGHT", "RODE"],
                                                                ["DON'T", "STOP"]]


# --------------------------------------------------------------------------- emissions, decoding


def test_make_emission_rows_are_log_probabilities(labels):
    e = lm.make_emission(["A", {"-": 0.6, "K": 0.3}, "|"], labels)
    assert e.shape == (3, 29) and e.dtype == torch.float32
    assert torch.allclose(e.exp().sum(-1), torch.ones(3), atol=1e-5)
    assert [labels[i] for i in e.argmax(-1).tolist()] == ["A", "-", "|"]
    assert e[1, labels.index("K")].exp().item() == pytest.approx(0.3, abs=1e-6)
    with pytest.raises(ValueError, match="not labels"):
        lm.make_emission(["a"], labels)
    with pytest.raises(ValueError, match="remainder"):
        lm.make_emission([{"A": 0.7, "B": 0.6}], labels)


def test_spell_inserts_blanks_between_repeats(labels):
    frames = lm.spell("bookkeeper at night")
    assert frames[:5] == ["B", "O", "-", "O", "K"]
    assert greedy_decode(lm.make_emission(frames, labels), labels) == "BOOKKEEPER AT NIGHT"


def night_knight(labels):
    return lm.make_emission(lm.spell("THE") + [lm.WEAK_K] + lm.spell("NIGHT RODE"), labels)


def test_greedy_is_wrong_and_the_lm_fixes_it(labels, files, model):
    e = night_knight(labels)
    assert greedy_decode(e, labels) == "THE NIGHT RODE"
    no_lm = lm.decode(lm.build_decoder(files, use_lm=False), e)[0]
    assert lm.words_of(no_lm) == "THE NIGHT RODE"
    best = lm.decode(lm.build_decoder(files, lm_weight=2.0, nbest=5), e)
    assert lm.words_of(best[0]) == "THE KNIGHT RODE"
    assert "THE NIGHT RODE" in [lm.words_of(h) for h in best[1:]]
    assert [h.score for h in best] == sorted((h.score for h in best), reverse=True)
    # the score is acoustic + lm_weight * log10 p(words): check it for the best path
    path = lm.spell("THE") + ["K"] + lm.spell("NIGHT RODE")
    acoustic = sum(e[t, labels.index(c)].item() for t, c in enumerate(path))
    lm_part = model.sentence_logprob(["THE", "KNIGHT", "RODE"])
    assert best[0].score == pytest.approx(acoustic + 2.0 * lm_part, abs=1e-3)


def test_a_beam_of_one_loses_the_knight(labels, files):
    e = night_knight(labels)
    narrow = lm.decode(lm.build_decoder(files, lm_weight=2.0, beam_size=1), e)[0]
    wide = lm.decode(lm.build_decoder(files, lm_weight=2.0, beam_size=50), e)[0]
    assert (lm.words_of(narrow), lm.words_of(wide)) == ("THE NIGHT RODE", "THE KNIGHT RODE")


def test_beam_search_only_outputs_lexicon_words(labels, files):
    lexicon = {ln.split("\t")[0] for ln in files.lexicon.read_text().splitlines()}
    g = torch.Generator().manual_seed(0)
    e = torch.log_softmax(torch.randn(120, 29, generator=g), -1)
    words = lm.decode(lm.build_decoder(files), e)[0].words
    assert words and set(words) <= lexicon


def test_quiet_native_stderr_hides_fd2_only_inside(capfd):
    with lm.quiet_native_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    err = capfd.readouterr().err
    assert "hidden" not in err and "shown" in err


# --------------------------------------------------------------------------- exercise checkers


def test_check_lexicon_line(capsys):
    assert lm.check_lexicon_line(lm.lexicon_line) is True
    assert "correct" in capsys.readouterr().out

    def stub(word):
        raise NotImplementedError

    assert lm.check_lexicon_line(stub) is False
    assert "Not attempted yet" in capsys.readouterr().out
    assert lm.check_lexicon_line(lambda w: f"{w.upper()} {' '.join(w.upper())} |") is False
    assert "TAB" in capsys.readouterr().out
    assert lm.check_lexicon_line(lambda w: f"{w.upper()}\t{' '.join(w.upper())}") is False
    assert "'|'" in capsys.readouterr().out
    assert lm.check_lexicon_line(lambda w: f"{w}\t{' '.join(w)} |") is False  # case kept
    assert "expected" in capsys.readouterr().out
    assert lm.check_lexicon_line(lambda w: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_check_lm_weight(labels, files, capsys):
    assert lm.check_lm_weight(4.0, files, labels) is True
    assert lm.check_lm_weight(0.0, files, labels) is False
    assert "too small" in capsys.readouterr().out
    assert lm.check_lm_weight(20.0, files, labels) is False
    assert "too large" in capsys.readouterr().out
    assert lm.check_lm_weight(None, files, labels) is False
    assert "Not attempted yet" in capsys.readouterr().out
    assert lm.check_lm_weight(math.nan, files, labels) is False
    assert lm.check_lm_weight("two", files, labels) is False
