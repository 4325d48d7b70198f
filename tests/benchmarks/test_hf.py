"""The HF baselines' own parts, without training anything real: the length-
sorted prediction puts the tags back in input order, the tags -> spans ->
build_report path scores as nerkit.scoring does on spaCy Docs and as the
conlleval package does, the document windows (hf_doc) give every word exactly
one tag, respect the piece limit and never split a word, and the word budget
stops training where it should."""
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks import data, hf_seed
from benchmarks.hf_seed import (IGNORE, doc_windows, encode_docs, group_by_doc, label_list, piece_counts,
                                predict_doc_tags, predict_tags, split_by_sents, window_owners)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpus" / "sample"
LABELS = label_list(["LOC", "MISC", "ORG", "PER"])
ID2LABEL = dict(enumerate(LABELS))


@pytest.fixture(scope="module")
def tokenizer(tiny_bert):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert)


class StubModel:
    """A token classifier whose argmax is `label_of(input_ids)` (a tensor of
    label ids, one per piece): the tags it yields are known in advance."""

    def __init__(self, label_of):
        self.label_of = label_of

    def eval(self):
        return self

    def __call__(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        import torch

        return SimpleNamespace(logits=torch.nn.functional.one_hot(self.label_of(input_ids), len(LABELS)).float())


def by_content(input_ids):
    return input_ids % len(LABELS)


def by_position(input_ids):
    import torch

    return (torch.arange(input_ids.shape[1]) % len(LABELS)).expand_as(input_ids)


def first_piece_label(tokenizer, word: str) -> str:
    return ID2LABEL[tokenizer([[word]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0][0] % len(LABELS)]


def test_predict_tags_back_in_input_order(tokenizer):
    sents = [["the", "blackburn", "said", "of", "x"], ["a"], ["he", "was", "in", "london", "on", "monday", "and", "she"],
             ["it", "b9"], ["zurich", "to", "w"], ["blackburn"] * 20]  # the last one runs past 128 pieces
    lengths = [len(f["input_ids"]) for f in hf_seed.encode(tokenizer, sents, None, {})]
    assert sorted(range(len(sents)), key=lambda i: lengths[i]) != list(range(len(sents)))  # the sort reorders
    model = StubModel(by_content)
    tags, missing = predict_tags(model, tokenizer, sents, ID2LABEL, batch_size=2)
    n_kept = lengths[-1] - 2  # pieces of the long sentence without [CLS]/[SEP]
    kept_words = math.ceil(n_kept / piece_counts(tokenizer, ["blackburn"])[0])  # a cut word keeps its first piece
    assert missing == 20 - kept_words > 0
    for words, got in zip(sents, tags):
        expected = [first_piece_label(tokenizer, w) for w in words]
        if len(words) == 20:
            expected[kept_words:] = ["O"] * (20 - kept_words)
        assert got == expected
    # the same as predicting each sentence alone
    assert tags == [predict_tags(model, tokenizer, [s], ID2LABEL, batch_size=1)[0][0] for s in sents]


CONLL = """-DOCSTART- O

John B-PER
Smith I-PER
visited O
New B-LOC
York I-LOC
. O

Acme B-ORG
Corp I-ORG
hired O
Mary B-PER

Smith B-PER
said O

-DOCSTART- O

Germany B-LOC
beat O
France B-LOC
in O
Berlin B-LOC

EU B-ORG
says O

nothing O
here O
"""
# per sentence: all right; a type change (B-ORG I-PER) and an I- after O; an
# I- that continues the previous sentence's entity; a type error and a miss;
# a boundary error; a false positive
PRED = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"], ["B-ORG", "I-PER", "O", "I-PER"], ["I-PER", "O"],
        ["B-LOC", "O", "B-ORG", "O", "O"], ["B-MISC", "I-MISC"], ["O", "B-PER"]]


def test_hf_f1_equals_our_report_and_conlleval(tmp_path):
    import spacy
    from conlleval import evaluate as conlleval
    from spacy.tokens import Doc
    from spacy.training import biluo_tags_to_spans, iob_to_biluo

    from nerkit.scoring import build_report

    path = tmp_path / "tiny.conll"
    path.write_text(CONLL, encoding="utf8")
    conll = data.load_split(path)
    sents = data.sentences(conll)
    assert [len(t) for _, t, _ in sents] == [len(p) for p in PRED]
    vocab = spacy.blank("en").vocab
    gold = data.gold_docs(conll, vocab)
    # the HF systems' path
    hf_pred = data.ents_to_docs(gold, hf_seed.tags_to_doc_spans(sents, PRED, len(gold)), vocab)
    hf = build_report(gold, hf_pred, n_bootstrap=10)["entity"]
    # our path: spaCy Docs with the entities spaCy reads from each DOCUMENT's tags (Mary + Smith run over
    # a sentence break there; the scorer cuts them at it, as conlleval does)
    ours_pred = []
    for g, tags in zip(gold, group_by_doc(sents, PRED, len(gold))):
        doc = Doc(vocab, words=[t.text for t in g])
        doc.ents = biluo_tags_to_spans(doc, iob_to_biluo(tags))
        ours_pred.append(doc)
    assert any(e.text == "Mary Smith" for e in ours_pred[0].ents)
    ours = build_report(gold, ours_pred, n_bootstrap=10)["entity"]
    # conlleval: "word gold pred", a blank line between sentences
    lines = []
    for (_, words, spans), pred in zip(sents, PRED):
        gold_tags = hf_seed.spans_to_iob2(spans, len(words))
        lines += [f"{w} {g} {p}" for w, g, p in zip(words, gold_tags, pred)] + [""]
    ce = conlleval(lines)
    # by hand: 9 gold, 10 predicted, 5 right (John Smith, New York, Mary, Smith, Germany)
    assert ce["overall"]["chunks"]["stats"] == {"gold": 9, "pred": 10, "correct": 5}
    for key in ("tp", "fp", "fn"):
        assert hf["micro"][key] == ours["micro"][key]
    assert (hf["micro"]["tp"], hf["micro"]["fp"], hf["micro"]["fn"]) == (5, 5, 4)
    assert hf["micro"]["f1"] == pytest.approx(10 / 19) == pytest.approx(ours["micro"]["f1"])
    assert hf["micro"]["f1"] == pytest.approx(ce["overall"]["chunks"]["evals"]["f1"])
    assert hf["micro"]["precision"] == pytest.approx(ce["overall"]["chunks"]["evals"]["prec"])
    assert hf["micro"]["recall"] == pytest.approx(ce["overall"]["chunks"]["evals"]["rec"])
    for label, row in ce["slots"]["chunks"].items():
        assert hf["per_type"][label]["f1"] == pytest.approx(ours["per_type"][label]["f1"]) == pytest.approx(row["evals"]["f1"])


def test_doc_windows_hand_cases():
    # 128/96 over 300 one-piece words: the 32 overlapping words are split 16/16
    wins = doc_windows([1] * 300, 128, 96, 510)
    assert wins == [(0, 128), (96, 224), (192, 300)]
    owners = window_owners(wins, 300)
    assert owners[:112] == [0] * 112 and owners[112:208] == [1] * 96 and owners[208:] == [2] * 92
    # word 7 has 2 words of context on its open side in both windows: the earlier window takes it
    assert window_owners(doc_windows([1] * 15, 10, 5, 510), 15) == [0] * 8 + [1] * 7
    # a short document: one window; the piece limit shrinks windows and their stride with them
    assert doc_windows([2] * 50, 128, 96, 510) == [(0, 50)]
    assert doc_windows([3] * 60, 20, 15, 30) == [(0, 10), (7, 17), (14, 24), (21, 31), (28, 38), (35, 45), (42, 52),
                                                 (49, 59), (56, 60)]
    # a word over the limit stands alone (it is truncated when encoded)
    assert doc_windows([1, 600, 1, 1], 128, 96, 510) == [(0, 1), (1, 2), (2, 4)]
    assert doc_windows([], 128, 96, 510) == []
    with pytest.raises(ValueError):
        doc_windows([1], 10, 11, 510)


DOC_WORDS = ("the blackburn said on monday that it was to the london office of xyz and he will by the a of in "
             "zurich for at with from abcdefghijklmnopqrstuvwxyzabcdefghijklmnop she 1996 , . the european").split()


def test_encode_docs_pieces_and_labels(tokenizer):
    docs = [DOC_WORDS, DOC_WORDS[:5], DOC_WORDS[3:] * 2]
    tags = [[LABELS[(i * 7 + d) % len(LABELS)] for i in range(len(w))] for d, w in enumerate(docs)]
    label2id = {t: i for i, t in enumerate(LABELS)}
    max_length = 24  # 22 pieces + [CLS] + [SEP]: shrinks the 12-word windows
    feats, stats = encode_docs(tokenizer, docs, tags, label2id, 12, 9, max_length)
    assert stats["windows"] == len(feats) and stats["shrunk_for_piece_limit"] > 0
    assert piece_counts(tokenizer, ["abcdefghijklmnopqrstuvwxyzabcdefghijklmnop"]) == [42]  # over the limit
    assert stats["truncated"] == 3  # that word's windows: one in the first document, two in the third
    for d, words in enumerate(docs):
        counts = piece_counts(tokenizer, words)
        mine = [f for f in feats if f["doc"] == d]
        owned = sorted(j for f in mine for j in f["owned"])
        assert owned == list(range(len(words)))  # every word labelled and predicted in exactly one window
        covered = set()
        for f in mine:
            assert len(f["input_ids"]) <= max_length
            ids = [w for w in f["word_ids"] if w is not None]
            assert sorted(set(ids)) == list(range(f["start"], f["end"]))
            covered.update(ids)
            for j in range(f["start"], f["end"]):
                if counts[j] + 2 <= max_length:  # not split over windows: all its pieces are here
                    assert ids.count(j) == counts[j]
                else:  # over the limit on its own: alone, truncated, its first piece kept
                    assert f["end"] - f["start"] == 1 and ids.count(j) == max_length - 2
            assert set(f["owned"]) <= set(range(f["start"], f["end"]))
            # labels: on the first piece of the owned words only
            labelled = {f["word_ids"][p]: lab for p, lab in enumerate(f["labels"]) if lab != IGNORE}
            assert labelled == {j: label2id[tags[d][j]] for j in f["owned"]}
        assert covered == set(range(len(words)))


def test_predict_doc_tags_one_tag_per_word_from_its_window(tokenizer):
    docs = [DOC_WORDS, DOC_WORDS[:5], DOC_WORDS[3:] * 2, []]
    window, stride, max_length = 12, 9, 24
    feats, _ = encode_docs(tokenizer, docs, None, {}, window, stride, max_length)
    tags, missing = predict_doc_tags(StubModel(by_position), tokenizer, docs, ID2LABEL, 3, window, stride, max_length)
    assert missing == 0 and [len(t) for t in tags] == [len(w) for w in docs]
    for d, words in enumerate(docs):
        for j in range(len(words)):
            (f,) = [f for f in feats if f["doc"] == d and j in f["owned"]]
            assert tags[d][j] == ID2LABEL[f["word_ids"].index(j) % len(LABELS)]
    # with the content stub, each word's tag is its own, wherever its window falls in the sorted batches
    tags, _ = predict_doc_tags(StubModel(by_content), tokenizer, docs, ID2LABEL, 2, window, stride, max_length)
    assert tags == [[first_piece_label(tokenizer, w) for w in words] for words in docs]


def test_group_and_split_by_doc():
    sents = [(0, ["a", "b"], []), (0, ["c"], []), (1, ["d", "e", "f"], []), (2, ["g"], [])]
    per_doc = group_by_doc(sents, [t for _, t, _ in sents], 3)
    assert per_doc == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert split_by_sents(sents, per_doc) == [t for _, t, _ in sents]


def test_seed_defaults_unchanged():
    args = hf_seed.parse_args(["--train", "t", "--dev", "d", "--test", "x", "--model", "m", "--out", "o"])
    assert (args.context, args.max_length, args.lr, args.batch_size, args.epochs, args.patience) == (
        "sentence", 128, 2e-5, 16, 5, 1)
    assert (args.warmup_steps, args.word_budget) == (0, 0)
    doc = hf_seed.parse_args(["--train", "t", "--dev", "d", "--test", "x", "--model", "m", "--out", "o", "--context", "doc"])
    assert (doc.max_length, doc.window_words, doc.stride_words) == (512, 128, 96)


def test_word_budget_stops_training(tiny_bert, tmp_path):
    out = tmp_path / "result.json"
    budget = 1200
    hf_seed.main([
        "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--test", str(SAMPLE / "test.conll"),
        "--model", str(tiny_bert), "--out", str(out), "--limit-sents", "40", "--lr", "1e-4",
        "--context", "doc", "--window-words", "32", "--stride-words", "24", "--batch-size", "4",
        "--warmup-steps", "2", "--patience", "0", "--word-budget", str(budget), "--pipeline-batch-size", "0",
    ])
    result = json.loads(out.read_text())
    training = result["training"]
    words = data.counts(data.load_split(SAMPLE / "train.conll", 40))["words"]
    assert training["labelled_words_per_epoch"] == words == 533  # each training word labelled once an epoch
    assert training["epochs_planned"] == math.ceil(budget / words) == 3
    assert result["stop_reason"] == f"word budget ({budget:,} words)" and result["status"] == "complete"
    assert budget <= training["words"] < budget + 4 * 32  # the last batch may run over
    assert training["steps"] == training["schedule_steps"] and training["warmup_steps"] == 2
    # dev F1 after each epoch and at the end
    assert [e["epoch"] for e in training["log"]][:2] == [1, 2] and 2 < training["log"][-1]["epoch"] < 3
    assert training["log"][-1]["step"] == training["steps"]
    assert training["inputs"] == {"context": "doc", "max_length_pieces": 512, "window_words": 32, "stride_words": 24}
    assert training["train_windows"]["windows"] >= 4 * 2 and training["truncated_train_sentences"] is None
    for split in ("dev", "test"):
        assert result[split]["n_sents"] == 40 and result[split]["words_past_truncation_set_to_O"] == 0
    assert "document windows (32 words, stride 24" in result["inference"]["method"]
