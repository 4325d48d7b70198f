"""nerkit serve with entity scores: "score" per entity from a token head,
"min_score" per request drops the entities below it, refused (422, the
reason named) on a pipeline without scores and outside [0, 1]; the page
shows the score as a tooltip."""
import spacy
from fastapi.testclient import TestClient

from nerkit.serve import ServeSettings, create_app

from .conftest import make_nlp

TEXTS = ["Thomas Kowalski visited Microsoft in Paris .", "", "Peter Blackburn of the European Commission said ."]


def client(nlp) -> TestClient:
    return TestClient(create_app(nlp, ServeSettings()), raise_server_exceptions=False)


def test_scores_and_min_score(scored_model):
    nlp = spacy.load(scored_model)
    expected = [[{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text, "score": e._.score}
                 for e in doc.ents] for doc in nlp.pipe(TEXTS)]
    scores = sorted(e["score"] for doc in expected for e in doc)
    assert len(scores) >= 2 and scores[0] < scores[-1] and all(0 <= s <= 1 for s in scores)
    c = client(nlp)
    response = c.post("/ents", json={"texts": TEXTS})
    assert response.status_code == 200
    assert [doc["ents"] for doc in response.json()["docs"]] == expected
    threshold = (scores[0] + scores[-1]) / 2
    response = c.post("/ents", json={"texts": TEXTS, "min_score": threshold})
    assert response.status_code == 200
    assert [doc["ents"] for doc in response.json()["docs"]] == [[e for e in doc if e["score"] >= threshold]
                                                                for doc in expected]
    for bad in (-0.1, 1.5, "high"):
        response = c.post("/ents", json={"texts": TEXTS, "min_score": bad})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "min_score"]


def test_min_score_without_scores_is_refused():
    c = client(make_nlp())
    response = c.post("/ents", json={"texts": ["Peter"]})
    assert response.status_code == 200 and response.json()["docs"][0]["ents"][0].keys() == {"start", "end", "label", "text"}
    response = c.post("/ents", json={"texts": ["Peter"], "min_score": 0.5})
    assert response.status_code == 422
    assert "min_score needs entity scores" in response.json()["detail"] and "entity_ruler" in response.json()["detail"]


def test_page_shows_the_score():
    page = client(make_nlp()).get("/").text
    assert "ent.score" in page and "mark.title" in page


def test_min_score_fits_a_one_text_limit(scored_model):
    """A request's own keys never count against max_texts: one text and min_score pass max_texts=1."""
    c = TestClient(create_app(spacy.load(scored_model), ServeSettings(max_texts=1)), raise_server_exceptions=False)
    assert c.post("/ents", json={"texts": [TEXTS[0]], "min_score": 0.0}).status_code == 200
    assert c.post("/ents", json={"texts": TEXTS[:2]}).status_code == 413
