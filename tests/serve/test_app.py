"""nerkit serve's app through FastAPI's TestClient: every endpoint, the
limits (413), malformed input (422), the API key (401, Basic auth for the
page), error bodies without stack traces or input, concurrent requests."""
import base64
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from spacy.language import Language

from nerkit.serve import ServeSettings, create_app

from .conftest import make_nlp

TEXT = "Peter flew to Paris to see the European Commission."


def client(settings: ServeSettings = ServeSettings(), nlp=None) -> TestClient:
    return TestClient(create_app(nlp or make_nlp(), settings), raise_server_exceptions=False)


def test_ents_offsets_and_order():
    texts = [TEXT, "", "   ", "Nothing here.", "Paris"]
    response = client().post("/ents", json={"texts": texts})
    assert response.status_code == 200
    docs = response.json()["docs"]
    assert [doc["text"] for doc in docs] == texts
    assert docs[0]["ents"] == [
        {"start": 0, "end": 5, "label": "PER", "text": "Peter"},
        {"start": 14, "end": 19, "label": "GPE", "text": "Paris"},
        {"start": 31, "end": 50, "label": "ORG", "text": "European Commission"},
    ]
    for doc in docs:
        for ent in doc["ents"]:
            assert doc["text"][ent["start"]:ent["end"]] == ent["text"]
    assert [len(doc["ents"]) for doc in docs[1:]] == [0, 0, 0, 1]


def test_health_meta_page():
    c = client()
    assert c.get("/health").json() == {"status": "ok"}
    meta = c.get("/meta").json()
    assert meta["name"] == "en_ruler" and meta["version"] == "1.2.3"
    assert meta["labels"] == ["GPE", "ORG", "PER"]
    assert meta["scores"] == {"ents_f": 0.9}
    assert meta["pipeline"] == ["entity_ruler"]
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="result"' in page.text and "textContent" in page.text


@pytest.mark.parametrize(
    "body,status",
    [
        ({"texts": ["a"] * 4}, 413),  # too many texts
        ({"texts": ["x" * 21]}, 413),  # too long
        ({"texts": "Peter"}, 422),  # not a list
        ({"texts": [1, 2]}, 422),  # not strings
        ({"text": ["Peter"]}, 422),  # wrong field
    ],
)
def test_limits_and_invalid(body, status):
    response = client(ServeSettings(max_texts=3, max_chars=20)).post("/ents", json=body)
    assert response.status_code == status
    assert "detail" in response.json()
    assert "Traceback" not in response.text


def test_lone_surrogate_and_oversized_body():
    c = client(ServeSettings(max_texts=2, max_chars=10, max_body=1024))
    response = c.post("/ents", content=b'{"texts": ["a\\ud800"]}', headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "lone surrogate" in response.json()["detail"]
    body = b'{"texts": ["' + b"x" * 2000 + b'"]}'
    response = c.post("/ents", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "Request body over" in response.json()["detail"]


def test_malformed_json_422_without_echo():
    secret = "Peter's secret text"
    response = client().post("/ents", content=b'{"texts": ["' + secret.encode() + b'"', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert secret not in response.text and "Traceback" not in response.text


def test_internal_error_body_is_generic(caplog):
    nlp = make_nlp()

    @Language.component("nerkit_test_serve_boom")
    def boom(doc):
        raise RuntimeError("/secret/path/model.bin exploded")

    nlp.add_pipe("nerkit_test_serve_boom")
    with caplog.at_level(logging.ERROR, logger="nerkit.serve"):
        response = client(nlp=nlp).post("/ents", json={"texts": [TEXT]})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "exploded" in caplog.text  # logged on the server, not sent


def test_api_key():
    c = client(ServeSettings(api_key="s3cret"))
    assert c.get("/health").status_code == 200
    for path in ("/meta", "/"):
        response = c.get(path)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
    assert c.post("/ents", json={"texts": [TEXT]}).status_code == 401
    assert c.get("/meta", headers={"X-API-Key": "wrong"}).status_code == 401
    assert c.get("/meta", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert c.get("/meta", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    basic = base64.b64encode(b"anyone:s3cret").decode()
    assert c.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert c.get("/", headers={"Authorization": "Basic !!notbase64"}).status_code == 401
    ok = c.post("/ents", json={"texts": [TEXT]}, headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200 and len(ok.json()["docs"][0]["ents"]) == 3


def test_logs_counts_not_texts(caplog):
    with caplog.at_level(logging.INFO, logger="nerkit.serve"):
        client().post("/ents", json={"texts": [TEXT]})
    assert "1 texts" in caplog.text and "Peter" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="nerkit.serve"):
        client(ServeSettings(log_texts=True)).post("/ents", json={"texts": [TEXT]})
    assert "Peter" in caplog.text


def test_concurrent_requests_agree():
    c = client()
    texts = [f"Peter {i} and Paris {'x' * i}" for i in range(40)]
    expected = [c.post("/ents", json={"texts": [t]}).json() for t in texts]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: c.post("/ents", json={"texts": [t]}).json(), texts))
    assert got == expected
    assert all(len(r["docs"][0]["ents"]) == 2 for r in got)
