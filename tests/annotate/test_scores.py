"""nerkit annotate with entity scores: "score" per entity in .jsonl output,
--min-score drops (and counts) the entities below it in every output format,
.spacy output keeps the scores, and a pipeline without scores (a ruler,
spaCy's ner) refuses --min-score. Ray: the same bytes as the local engine."""
import json

import pytest
import spacy
from spacy.tokens import DocBin

from nerkit.annotate import AnnotateOptions, annotate
from nerkit.components.token_ner import SCORES_KEY
from nerkit.ents import SCORES_KEY as ENTS_SCORES_KEY, check_min_score

from .test_annotate import invoke, model, read_jsonl  # noqa: F401 - model is a fixture

TEXTS = ["Thomas Kowalski visited Microsoft in Paris .", "Elena Petrova met Microsoft people in Berlin .",
         "", "nothing here", "Peter Blackburn of the European Commission said in Brussels ."]


@pytest.fixture(scope="module")
def scores(scored_model):
    """The scores of the entities of TEXTS, and a threshold between them."""
    nlp = spacy.load(scored_model)
    found = [[(e.start_char, e.end_char, e.label_, e._.score) for e in doc.ents] for doc in nlp.pipe(TEXTS)]
    flat = sorted(s for doc in found for *_, s in doc)
    assert len(flat) >= 3 and flat[0] < flat[-1], found
    return found, (flat[len(flat) // 2 - 1] + flat[len(flat) // 2]) / 2


def write_txt(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf8")
    return path


def test_jsonl_has_a_score_per_entity(scored_model, scores, tmp_path):
    found, _ = scores
    result = invoke(scored_model, write_txt(tmp_path), tmp_path / "out.jsonl")
    assert result.exit_code == 0, result.output
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [[(e["start"], e["end"], e["label"], e["score"]) for e in r["ents"]] for r in records] == found
    assert "Dropped" not in result.stdout


def test_min_score_drops_and_counts(scored_model, scores, tmp_path):
    found, threshold = scores
    n_low = sum(s < threshold for doc in found for *_, s in doc)
    result = invoke(scored_model, write_txt(tmp_path), tmp_path / "out.jsonl", "--min-score", threshold)
    assert result.exit_code == 0, result.output
    kept = [[(e["start"], e["end"], e["label"], e["score"]) for e in r["ents"]] for r in read_jsonl(tmp_path / "out.jsonl")]
    assert kept == [[e for e in doc if e[3] >= threshold] for doc in found]
    assert f"Dropped (score < {threshold:g})" in result.stdout
    assert any(line.split()[-1] == str(n_low) for line in result.stdout.splitlines() if "Dropped" in line)
    summary = annotate(spacy.load(scored_model), write_txt(tmp_path), tmp_path / "out.conll", AnnotateOptions(min_score=threshold))
    assert summary.dropped == n_low and sum(summary.entities.values()) == sum(map(len, kept))
    tags = [line.split()[-1] for line in (tmp_path / "out.conll").read_text().splitlines() if " " in line]
    assert sum(tag.startswith("B-") for tag in tags) == sum(map(len, kept))


def test_spacy_output_keeps_the_scores(scored_model, scores, tmp_path):
    found, threshold = scores
    annotate(spacy.load(scored_model), write_txt(tmp_path), tmp_path / "out.spacy", AnnotateOptions(min_score=threshold))
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(spacy.blank("en").vocab))
    got = [[(e.start_char, e.end_char, e.label_, e._.score) for e in doc.ents] for doc in docs]
    assert got == [[e for e in doc if e[3] >= threshold] for doc in found]
    assert all(set(doc.user_data) <= {SCORES_KEY} for doc in docs)  # nothing else of the user data
    assert SCORES_KEY == ENTS_SCORES_KEY


def test_min_score_without_scores_is_refused(model, scored_model, tmp_path):  # noqa: F811
    path = write_txt(tmp_path)
    result = invoke(model, path, tmp_path / "out.jsonl", "--min-score", "0.5")
    assert result.exit_code == 2
    assert "needs entity scores" in result.output and "entity_ruler" in result.output
    assert not (tmp_path / "out.jsonl").exists()
    result = invoke(model, path, tmp_path / "out.jsonl")  # without it: no scores, no "score" field
    assert result.exit_code == 0 and all("score" not in e for r in read_jsonl(tmp_path / "out.jsonl") for e in r["ents"])
    off = spacy.load(scored_model, config={"components": {"ner": {"scores": False}}})
    with pytest.raises(ValueError, match="needs entity scores"):
        annotate(off, path, tmp_path / "out.jsonl", AnnotateOptions(min_score=0.5))
    ner = spacy.blank("en")
    ner.add_pipe("ner")
    with pytest.raises(ValueError, match=r"\(ner\) gives none.*transition-based ner"):
        check_min_score(ner.config, 0.5)
    result = invoke(scored_model, path, tmp_path / "out.jsonl", "--min-score", "1.5")
    assert result.exit_code == 2


def test_ray_equals_local_with_scores(scored_model, scores, model, tmp_path):  # noqa: F811
    pytest.importorskip("ray.data")
    import ray

    _, threshold = scores
    ruler = model
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps({"id": i, "text": t}) for i, t in enumerate(TEXTS * 3)) + "\n")
    try:
        result = invoke(scored_model, path, tmp_path / "ray.jsonl", "--engine", "ray", "--actors", "2",
                        "--min-score", threshold)
        assert result.exit_code == 0, result.output
        local = annotate(spacy.load(scored_model), path, tmp_path / "local.jsonl", AnnotateOptions(min_score=threshold))
        assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
        assert b'"score": ' in (tmp_path / "ray.jsonl").read_bytes()
        assert f"Dropped (score < {threshold:g})" in result.stdout and local.dropped > 0
        assert any(line.split()[-1] == str(local.dropped) for line in result.stdout.splitlines() if "Dropped" in line)
        refused = invoke(ruler, path, tmp_path / "refused.jsonl", "--engine", "ray", "--min-score", 0.5)
        assert refused.exit_code == 2 and "needs entity scores" in refused.output
        assert not (tmp_path / "refused.jsonl").exists()
    finally:
        ray.shutdown()
