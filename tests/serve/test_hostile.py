"""nerkit serve against hostile and overloading clients (issue #21): the key
checked before any body byte is read, a chunked body refused the moment it
passes the byte limit and left unread, the count of texts checked before any
is validated, bounded validation errors, a bounded queue and a time budget
(503 + Retry-After), /openapi.json behind the key, request logs and a 500's
traceback once in uvicorn's output."""
import http.client
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from spacy.language import Language
from spacy.tokens import Doc

from benchmarks.serve_load import post, start_server
from nerkit.serve import ServeSettings, create_app
from nerkit.serve.app import settings_from_env

from .conftest import make_nlp
from .live import free_port, live_server

TEXT = "Peter flew to Paris to see the European Commission."
SMALL = ServeSettings(max_texts=2, max_chars=10, max_body=1160)


def client(settings: ServeSettings = ServeSettings(), nlp: Optional[Language] = None) -> TestClient:
    return TestClient(create_app(nlp or make_nlp(), settings), raise_server_exceptions=False)


def post_headers(url: str, headers: dict, timeout: float = 5.0) -> socket.socket:
    """A socket on which the headers of ``POST /ents`` are sent, the body still to come."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    head = {"Host": parts.netloc, "Content-Type": "application/json", **headers}
    sock.sendall(("POST /ents HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n").encode())
    return sock


def send_chunk(sock: socket.socket, data: bytes) -> None:
    sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def read_response(sock: socket.socket) -> http.client.HTTPResponse:
    """The response on ``sock`` (which stays open: the response reads through a file of its own)."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response


def send_until_refused(sock: socket.socket, total: int, chunk: int = 64 * 1024) -> int:
    """Bytes of body sent before the server's end of the connection is gone (at most ``total``);
    a server that stops reading without closing makes this time out (an error)."""
    sent = 0
    try:
        while sent < total:
            send_chunk(sock, b"x" * chunk)
            sent += chunk
    except (BrokenPipeError, ConnectionResetError):  # closed with the rest unread
        pass
    return sent


# 1. Refused before read: the key, then the bytes, then the count of texts


def test_no_key_401_before_the_body_is_read():
    with live_server(create_app(make_nlp(), ServeSettings(api_key="k3y"))) as url:
        with post_headers(url, {"Transfer-Encoding": "chunked"}) as sock:
            send_chunk(sock, b'{"texts": ["' + b"x" * 1000)  # the body never ends: only a server that doesn't wait answers
            response = read_response(sock)
            assert response.status == 401 and response.getheader("WWW-Authenticate").startswith("Basic")
            assert response.getheader("Connection") == "close"
            assert send_until_refused(sock, 50_000_000) < 50_000_000
        with post_headers(url, {"Content-Length": "100000"}) as sock:  # under the byte limit, none of it sent
            assert read_response(sock).status == 401


def test_no_key_small_body_401_keeps_the_connection():
    with live_server(create_app(make_nlp(), ServeSettings(api_key="k3y"))) as url:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        body, headers = b'{"texts": ["Peter"]}', {"Content-Type": "application/json"}
        conn.request("POST", "/ents", body=body, headers=headers)
        response = conn.getresponse()
        assert response.status == 401 and response.getheader("Connection") is None
        response.read()
        sock = conn.sock
        conn.request("POST", "/ents", body=body, headers={**headers, "X-API-Key": "k3y"})
        assert conn.getresponse().status == 200 and conn.sock is sock  # the same connection, its body discarded


def test_chunked_body_413_at_the_limit_rest_unread():
    with live_server(create_app(make_nlp(), SMALL)) as url:
        with post_headers(url, {"Transfer-Encoding": "chunked"}) as sock:
            for _ in range(3):  # 3 kB > 1,160 bytes; the body has no end
                send_chunk(sock, b"x" * 1000)
            response = read_response(sock)
            assert response.status == 413 and b"Request body over 1,160 bytes" in response.read()
            assert response.getheader("Connection") == "close"
            assert send_until_refused(sock, 50_000_000) < 50_000_000  # the server stopped reading
        # the server goes on serving
        assert post(url, ["Peter"], None, timeout=10) > 0


def test_byte_limit_of_its_own():
    """The body's bytes are bounded by --max-body-mb (4 MiB), not by what max_texts x max_chars would allow
    (128 x 100,000 characters, up to 77 MB of JSON): a refused body costs at most that much memory."""
    assert ServeSettings().max_body == 4 * 1024 * 1024
    text = "x" * 90_000  # within max_chars, 50 of them within max_texts, 4.5 MB together
    response = client().post("/ents", json={"texts": [text] * 50})
    assert response.status_code == 413 and "over 4,194,304 bytes (nerkit serve --max-body-mb)" in response.json()["detail"]
    assert client(ServeSettings(max_body=8 * 1024 * 1024)).post("/ents", json={"texts": [text] * 50}).status_code == 200


def test_chunked_body_under_the_limit_served():
    with live_server(create_app(make_nlp(), SMALL)) as url:
        with post_headers(url, {"Transfer-Encoding": "chunked"}) as sock:
            for part in (b'{"texts": ', b'["Peter"]}', b""):
                send_chunk(sock, part)
            response = read_response(sock)
            assert response.status == 200 and b'"PER"' in response.read()


def test_too_many_texts_413_before_validating_any():
    body = b'{"texts": [' + b",".join([b"1"] * 1_000_000) + b"]}"  # 2 MB, a million invalid items
    response = client().post("/ents", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "at most 128" in response.json()["detail"]
    assert len(response.content) < 10_000


def test_validation_errors_bounded():
    response = client(ServeSettings(max_texts=100)).post("/ents", json={"texts": [1] * 50})
    assert response.status_code == 422
    body = response.json()
    assert body["error_count"] == 50 and len(body["detail"]) == 10
    assert body["detail"][0] == {"loc": ["body", "texts", 0], "msg": "Input should be a valid string", "type": "string_type"}


@pytest.mark.parametrize("body", [b"[" * 100_000, b"1" * 10_000, b'{"texts": ["a"], "x": [' + b"1," * 200 + b"1]}"])
def test_hostile_json_refused_not_500(body):
    response = client().post("/ents", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (413, 422)
    assert len(response.content) < 1000


# 2. Load shedding: a bounded queue, a time budget


def blocking_nlp(release: threading.Event, entered: threading.Event, seconds_per_slow: float = 0.3) -> Language:
    """The ruler pipeline, plus a component that blocks on "block" until
    ``release`` and sleeps on "slow"."""
    name = f"nerkit_test_block_{id(release)}"

    @Language.component(name)
    def block(doc: Doc) -> Doc:
        if doc.text == "block":
            entered.set()
            release.wait(30)
        elif doc.text == "slow":
            time.sleep(seconds_per_slow)
        return doc

    nlp = make_nlp()
    nlp.add_pipe(name)
    return nlp


def test_queue_full_503_retry_after():
    release, entered = threading.Event(), threading.Event()
    c = client(ServeSettings(max_queue=1), blocking_nlp(release, entered))
    with ThreadPoolExecutor(3) as pool:
        running = pool.submit(c.post, "/ents", json={"texts": ["block"]})
        assert entered.wait(10)
        second = pool.submit(c.post, "/ents", json={"texts": [TEXT]})
        third = pool.submit(c.post, "/ents", json={"texts": [TEXT]})
        refused = None
        deadline = time.monotonic() + 10
        while refused is None and time.monotonic() < deadline:  # one of the two finds the queue full, at once
            refused = next((f.result() for f in (second, third) if f.done()), None)
            time.sleep(0.01)
        assert refused is not None and refused.status_code == 503
        assert refused.headers["Retry-After"] == "1" and "queue full" in refused.json()["detail"]
        release.set()
        statuses = sorted(f.result().status_code for f in (running, second, third))
    assert statuses == [200, 200, 503]
    assert c.post("/ents", json={"texts": [TEXT]}).status_code == 200


def test_timeout_waiting_503_then_healthy():
    release, entered = threading.Event(), threading.Event()
    c = client(ServeSettings(timeout=0.5), blocking_nlp(release, entered))
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(c.post, "/ents", json={"texts": ["block"]})
        assert entered.wait(10)
        waited = c.post("/ents", json={"texts": [TEXT]})  # the pipeline stays busy past its budget
        assert waited.status_code == 503 and waited.headers["Retry-After"] == "1"
        assert "timed out waiting" in waited.json()["detail"]
        release.set()
        assert running.result().status_code == 200  # done, if late: answered
    assert c.post("/ents", json={"texts": [TEXT]}).status_code == 200


def test_timeout_running_503_between_batches():
    release, entered = threading.Event(), threading.Event()
    c = client(ServeSettings(timeout=0.5, batch_size=1), blocking_nlp(release, entered, seconds_per_slow=0.3))
    response = c.post("/ents", json={"texts": ["slow"] * 4})  # 1.2 s of work for a 0.5 s budget
    assert response.status_code == 503 and "timed out after" in response.json()["detail"]
    assert c.post("/ents", json={"texts": [TEXT, "slow"]}).status_code == 200


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("NERKIT_SERVE_MAX_TEXTS", "5")
    monkeypatch.setenv("NERKIT_SERVE_MAX_CHARS", "50")
    monkeypatch.setenv("NERKIT_SERVE_MAX_QUEUE", "3")
    monkeypatch.setenv("NERKIT_SERVE_TIMEOUT", "2.5")
    monkeypatch.setenv("NERKIT_SERVE_MAX_BODY", "2048")
    settings = settings_from_env()
    assert (settings.max_texts, settings.max_chars, settings.max_queue, settings.timeout, settings.max_body) == (
        5, 50, 3, 2.5, 2048)
    monkeypatch.setenv("NERKIT_SERVE_TIMEOUT", "")
    monkeypatch.delenv("NERKIT_SERVE_MAX_QUEUE")
    assert settings_from_env().timeout is None and settings_from_env().max_queue == ServeSettings.max_queue


# 3. The schema behind the key


def test_openapi_behind_key():
    c = client(ServeSettings(api_key="k3y"))
    assert c.get("/openapi.json").status_code == 401
    schema = c.get("/openapi.json", headers={"X-API-Key": "k3y"})
    assert schema.status_code == 200 and "/ents" in schema.json()["paths"]
    assert schema.json()["paths"]["/ents"]["post"]["requestBody"]["content"]["application/json"]
    assert c.get("/docs", headers={"X-API-Key": "k3y"}).status_code == 404
    assert c.get("/no/such/path").status_code == 401  # nothing to probe without the key
    assert c.get("/health").status_code == 200


# 4. Logs where uvicorn's are, once


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_500_traceback_logged_once():
    nlp = make_nlp()

    @Language.component("nerkit_test_serve_boom_once")
    def boom(doc: Doc) -> Doc:
        raise RuntimeError("/secret/path/model.bin exploded")

    nlp.add_pipe("nerkit_test_serve_boom_once")
    records = Records()
    loggers = [logging.getLogger(name) for name in ("uvicorn", "nerkit.serve")]  # uvicorn.error propagates to uvicorn
    try:
        with live_server(create_app(nlp)) as url:  # uvicorn has configured its loggers by now
            for logger in loggers:
                logger.addHandler(records)
            parts = urlsplit(url)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("POST", "/ents", body=b'{"texts": ["Peter"]}', headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 500 and response.read() == b'{"detail":"Internal server error"}'
    finally:  # the server has stopped: whatever it logs after the response is in
        for logger in loggers:
            logger.removeHandler(records)
    with_traceback = [r for r in records.records if r.exc_info]
    assert len(with_traceback) == 1 and "exploded" in str(with_traceback[0].exc_info[1])


def test_client_leaving_mid_body_is_no_error(caplog):
    with caplog.at_level(logging.INFO, logger="nerkit.serve"), live_server(create_app(make_nlp())) as url:
        for headers in ({"Content-Length": "1000"}, {"Transfer-Encoding": "chunked"}):
            with post_headers(url, headers) as sock:
                sock.sendall(b'{"texts": ["Pe')
        time.sleep(0.3)
        assert post(url, ["Peter"], None, timeout=10) > 0
    ours = [r for r in caplog.records if r.name == "nerkit.serve"]
    assert not [r for r in ours if r.levelno >= logging.WARNING]
    assert sum("left before sending" in r.getMessage() for r in ours) == 2


def test_request_log_in_uvicorn_output(ruler_model, tmp_path):
    port, log = free_port(), tmp_path / "serve.log"
    process = start_server(str(ruler_model), port, workers=1, api_key=None, log=str(log))
    try:
        url = f"http://127.0.0.1:{port}"
        post(url, ["Peter is here"], None, timeout=10)
        post(url, ["Peter", "Paris"], None, timeout=10)
    finally:
        process.terminate()
        process.wait(30)
    lines = log.read_text(encoding="utf8").splitlines()
    ents_lines = [line for line in lines if "POST /ents:" in line]
    assert len(ents_lines) == 2, lines
    assert "1 texts, 13 chars, 1 entities" in ents_lines[0] and ents_lines[0].startswith("INFO:")
    assert "2 texts" in ents_lines[1]
    assert not any("Peter" in line for line in lines)
