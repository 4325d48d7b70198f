"""The HTTP API of ``nerkit serve``: a FastAPI app over one loaded pipeline.

- ``POST /ents`` ``{"texts": [...]}`` -> ``{"docs": [{"text", "ents": [...]}]}``:
  all texts in one ``nlp.pipe`` call, entities in displaCy's manual format,
  each with its probability ``score`` where the pipeline gives one; an optional
  ``"min_score"`` drops the entities below it (422 on a pipeline without scores).
- ``GET /health`` (never needs the key), ``GET /meta`` (name, version,
  labels, the scores in meta.json), ``GET /`` (a page that highlights the
  entities of a pasted text, displaCy's ent style), ``GET /openapi.json``.

A request is refused as early as it can be, in the order of what refusing costs:

1. the API key, from the headers alone (401, constant-time compare; Starlette's
   ``AuthenticationMiddleware``): no body byte is read without it;
2. a place in the queue: at most ``max_queue`` requests wait while one runs
   (503 with Retry-After when full, the body unread);
3. the body's bytes, counted while it is received, whatever the transfer
   encoding (413 the moment it passes the limit, at once for a Content-Length
   over it), the connection then closed so a large rest is never read (FastAPI's
   ``max_body_size`` would answer a Content-Length over it in plain text and
   leave the connection open, uvicorn then reading the body to discard it);
4. the JSON, parsed with at most ``max_texts`` items per array or object
   (413 before any item is validated), then the schema (422, the first 10
   errors and their count), then each text's length (413) and encoding (422);
5. the pipeline, one request at a time (one lock, as spaCy's vocab and a
   request's memory zone are not safe to share between threads), within an
   optional time budget (503 past it; see ``PipelineQueue``).

Error bodies carry no stack traces, paths or input; logs (logger
``nerkit.serve``, routed to uvicorn's output by ``log_config``) carry counts
and timings, not the texts unless asked, and an unhandled error's traceback
once.
"""
import base64
import binascii
import contextlib
import copy
import hmac
import json
import json.decoder
import json.scanner
import logging
import os
import threading
import time
from dataclasses import dataclass
from email.message import Message
from importlib import resources
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional, Tuple

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, StrictStr, ValidationError
from spacy.language import Language
from starlette.authentication import (
    AuthCredentials, AuthenticationBackend, AuthenticationError, BaseUser, SimpleUser,
)
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.types import ASGIApp, Message as ASGIMessage, Receive, Scope, Send

from ..annotate import encodable, memory_zone
from ..ents import check_min_score, drop_below, ents_json

logger = logging.getLogger("nerkit.serve")
API_KEY_ENV = "NERKIT_API_KEY"
MAX_ERRORS = 10  # validation errors returned of a 422; the body says how many there were
OPEN_PATHS = ("/health",)  # paths that never need the key
MB = 1024 * 1024
DRAIN_BYTES = 64 * 1024  # a refused body up to this size is left for uvicorn to discard (see _close_if_large)


@dataclass(frozen=True)
class ServeSettings:
    """What ``nerkit serve``'s options set.

    max_texts (int): Texts per request; more gives 413.
    max_chars (int): Characters per text; a longer text gives 413.
    api_key (Optional[str]): Required on every endpoint but /health when set.
    log_texts (bool): Log the texts of each request (off: counts only).
    batch_size (Optional[int]): ``nlp.pipe`` batch size; None: the pipeline's.
    max_queue (int): Requests that may wait (being received, parsed or waiting
        for the pipeline) while one runs; one more gives 503 with Retry-After.
    timeout (Optional[float]): Seconds a request may take from its arrival at
        the app (waiting included) before it gets 503; None: no limit.
    max_body (int): Bytes of a request body; more gives 413 the moment they
        arrive. It bounds what a refused request costs the server (the body is
        held until parsed), so it stays small rather than max_texts x max_chars.
    """

    max_texts: int = 128
    max_chars: int = 100_000
    api_key: Optional[str] = None
    log_texts: bool = False
    batch_size: Optional[int] = None
    max_queue: int = 32
    timeout: Optional[float] = None
    max_body: int = 4 * MB


class EntsRequest(BaseModel):
    texts: List[StrictStr]
    min_score: Optional[float] = Field(None, ge=0.0, le=1.0)


class Ent(BaseModel):
    start: int
    end: int
    label: str
    text: str
    score: Optional[float] = None  # left out where the pipeline gives none


class DocEnts(BaseModel):
    text: str
    ents: List[Ent]


class EntsResponse(BaseModel):
    docs: List[DocEnts]


class Overloaded(Exception):
    """The request cannot be served now: the queue is full or its time budget ran out (503)."""


class PipelineQueue:
    """One pipeline, one request in it at a time, a bounded queue in front.

    Guarantees: at most ``max_queue`` + 1 requests hold a ``slot`` (the app
    takes one before reading the body: its holders are being received, parsed,
    waiting or running); one more raises ``Overloaded`` at once. With a
    deadline, ``annotate`` raises ``Overloaded`` if it passes while the request
    waits for the pipeline, or while it runs with texts left (checked between
    ``nlp.pipe`` batches, so at most one batch's time late); a request whose
    texts are all done is answered, late or not. A batch is never interrupted,
    and a request that gives up leaves the pipeline and its lock as they were:
    the worker stays healthy. (Receiving the body is not interrupted either:
    the app checks the deadline once it is in.)

    nlp (Language): The pipeline.
    batch_size (Optional[int]): ``nlp.pipe`` batch size; None: the pipeline's.
    max_queue (int): Requests that may wait while one runs.
    """

    def __init__(self, nlp: Language, batch_size: Optional[int], max_queue: int) -> None:
        self.nlp = nlp
        self.batch_size = batch_size
        self.max_queue = max_queue
        self._lock = threading.Lock()  # the pipeline
        self._count_lock = threading.Lock()  # `admitted` (TestClient runs requests in several event loops)
        self.admitted = 0  # slots held

    @contextlib.contextmanager
    def slot(self) -> Iterator[int]:
        """A place in the queue for the block; yields the requests ahead of it.

        RAISES (Overloaded): When ``max_queue`` + 1 slots are held already.
        """
        with self._count_lock:
            if self.admitted > self.max_queue:
                raise Overloaded(f"queue full ({self.admitted} requests in flight)")
            ahead = self.admitted
            self.admitted += 1
        try:
            yield ahead
        finally:
            with self._count_lock:
                self.admitted -= 1

    def annotate(
        self, texts: List[str], deadline: Optional[float], min_score: Optional[float] = None
    ) -> Tuple[List[Dict[str, Any]], float]:
        """The entities of ``texts``, blocking (call it in a worker thread).

        texts (List[str]): The texts, validated.
        deadline (Optional[float]): ``time.monotonic()`` past which to give up.
        min_score (Optional[float]): Drop entities whose score is below it.
        RETURNS (Tuple[List[Dict[str, Any]], float]): One dict per text, and the seconds waited for the pipeline.
        RAISES (Overloaded): When the deadline passes first.
        """
        start = time.monotonic()
        if not self._lock.acquire(timeout=-1 if deadline is None else max(0.0, deadline - start)):
            raise Overloaded("timed out waiting for the pipeline")
        try:
            waited = time.monotonic() - start
            docs: List[Dict[str, Any]] = []
            with memory_zone(self.nlp):  # the strings of a request are freed after it
                for doc in self.nlp.pipe(texts, batch_size=self.batch_size):
                    drop_below(doc, min_score)
                    docs.append({"text": doc.text, "ents": ents_json(doc)})
                    if deadline is not None and len(docs) < len(texts) and time.monotonic() > deadline:
                        raise Overloaded(f"timed out after {len(docs)} of {len(texts)} texts")
            return docs, waited
        finally:
            self._lock.release()


def create_app(nlp: Language, settings: ServeSettings = ServeSettings()) -> FastAPI:
    """The app serving ``nlp``.

    nlp (Language): The loaded pipeline, shared by all requests of this process.
    settings (ServeSettings): Limits, API key, queue, time budget, logging.
    RETURNS (FastAPI): The app; run it with uvicorn (``log_config`` routes its logs).
    """
    queue = PipelineQueue(nlp, settings.batch_size, settings.max_queue)
    meta = _public_meta(nlp)
    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf8")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # each waiting request holds a worker thread: room for a full queue and the rest
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.max_queue + 8)
        yield

    app = FastAPI(title="nerkit", description="Named entities from a spaCy pipeline", docs_url=None,
                  redoc_url=None, lifespan=lifespan)
    if settings.api_key:
        app.add_middleware(AuthenticationMiddleware, backend=KeyBackend(settings.api_key), on_error=_refuse_key)
    app.add_middleware(LogErrorsOnce)  # outermost of ours: sees what the others raise

    @app.exception_handler(RequestValidationError)
    def invalid_params(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid_response(exc.errors())

    @app.exception_handler(InvalidRequest)
    def invalid_request(request: Request, exc: InvalidRequest) -> JSONResponse:
        return _invalid_response(exc.errors)

    @app.get("/health")
    async def health() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/meta")
    async def get_meta() -> Dict[str, Any]:
        return meta

    @app.get("/", response_class=HTMLResponse)
    async def get_page() -> str:
        return page

    @app.post("/ents", response_model=EntsResponse, response_model_exclude_none=True, openapi_extra=_ENTS_BODY,
              responses={413: {"description": "Over a limit"}, 422: {"description": "Invalid request"},
                         503: {"description": "Queue full or time budget spent; see Retry-After"}})
    async def post_ents(request: Request) -> Any:
        start = time.monotonic()
        deadline = start + settings.timeout if settings.timeout else None
        try:
            with queue.slot() as ahead:  # before the body: a full queue costs no read
                texts, min_score = await _read_texts(request, settings)
                try:
                    check_min_score(nlp.config, min_score, "min_score")
                except ValueError as exc:
                    raise HTTPException(422, str(exc)) from None
                if deadline is not None and time.monotonic() > deadline:
                    raise Overloaded("timed out receiving the request")
                docs, waited = await run_in_threadpool(queue.annotate, texts, deadline, min_score)
        except Overloaded as exc:
            logger.info("POST /ents: 503 %s, %.1f ms", exc, 1000 * (time.monotonic() - start))
            raise HTTPException(503, f"Server busy: {exc}; retry later",
                                headers={"Retry-After": "1", **_close_if_large(request.headers)}) from None
        logger.info(
            "POST /ents: %d texts, %d chars, %d entities, %.1f ms (%.1f waiting, %d ahead)%s", len(texts),
            sum(map(len, texts)), sum(len(doc["ents"]) for doc in docs), 1000 * (time.monotonic() - start),
            1000 * waited, ahead, f", texts={texts!r}" if settings.log_texts else "",
        )
        return {"docs": docs}

    return app


def parse_texts(body: bytes, content_type: Optional[str], settings: ServeSettings) -> Tuple[List[str], Optional[float]]:
    """The texts (and ``min_score``) of a ``POST /ents`` body, checked cheapest first.

    body (bytes): The body, already within the byte limit.
    content_type (Optional[str]): Its Content-Type header; JSON only.
    settings (ServeSettings): The limits.
    RETURNS (Tuple[List[str], Optional[float]]): The texts and the request's ``min_score``.
    RAISES (HTTPException): 413 for more than ``max_texts`` items in a JSON array
        or object (found while parsing, before any is validated) or a text over
        ``max_chars``; 422 for a lone surrogate.
    RAISES (InvalidRequest): For a body that is not JSON or not ``{"texts": [str, ...]}``.
    """
    if not _is_json(content_type):
        raise InvalidRequest([{"loc": ["body"], "msg": "Content-Type must be application/json", "type": "content_type"}])
    try:
        data = _bounded_decoder(settings.max_texts).decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except _TooManyItems:
        raise HTTPException(413, f"Too many texts (or JSON items): at most {settings.max_texts} per request") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, a 5,000-digit number, [[[[...
        raise InvalidRequest([{"loc": ["body", getattr(exc, "pos", 0)], "msg": "JSON decode error",
                               "type": "json_invalid"}]) from None
    try:
        parsed = EntsRequest.model_validate(data)
        texts = parsed.texts
    except ValidationError as exc:
        raise InvalidRequest([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors(include_url=False)]) from None
    for i, text in enumerate(texts):
        if len(text) > settings.max_chars:
            raise HTTPException(413, f"texts[{i}] has {len(text)} characters, at most {settings.max_chars}")
        if not encodable(text):
            raise HTTPException(422, f"texts[{i}] holds a lone surrogate (a \\ud800-\\udfff escape), not text")
    return texts, parsed.min_score


def log_config(level: str = "INFO") -> Dict[str, Any]:
    """uvicorn's logging config with the ``nerkit.serve`` logger on uvicorn's
    own stderr handler and format (pass it as ``uvicorn.run(log_config=...)``;
    uvicorn applies it in each worker), so request logs and tracebacks appear,
    once, where uvicorn's do.

    level (str): The level of ``nerkit.serve``.
    RETURNS (Dict[str, Any]): A ``logging.config.dictConfig`` dict.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["nerkit.serve"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def settings_from_env() -> ServeSettings:
    """The serve settings from the ``NERKIT_SERVE_*`` environment variables that ``nerkit serve`` sets."""
    env = os.environ
    batch_size = env.get("NERKIT_SERVE_BATCH_SIZE")
    timeout = env.get("NERKIT_SERVE_TIMEOUT")
    return ServeSettings(
        max_texts=int(env["NERKIT_SERVE_MAX_TEXTS"]),
        max_chars=int(env["NERKIT_SERVE_MAX_CHARS"]),
        api_key=env.get(API_KEY_ENV) or None,
        log_texts=env.get("NERKIT_SERVE_LOG_TEXTS") == "1",
        batch_size=int(batch_size) if batch_size else None,
        max_queue=int(env.get("NERKIT_SERVE_MAX_QUEUE") or ServeSettings.max_queue),
        timeout=float(timeout) if timeout else None,
        max_body=int(env.get("NERKIT_SERVE_MAX_BODY") or ServeSettings.max_body),
    )


def app_from_env() -> FastAPI:
    """The app factory uvicorn calls in each worker process (``nerkit serve
    --workers N`` with N > 1): the pipeline and settings come from
    ``NERKIT_SERVE_*`` environment variables, which the command sets."""
    import spacy

    return create_app(spacy.load(os.environ["NERKIT_SERVE_MODEL"]), settings_from_env())


class KeyBackend(AuthenticationBackend):
    """Starlette authentication by API key, on the headers alone: ``X-API-Key``,
    ``Authorization: Bearer KEY`` or the password of HTTP Basic auth (so a
    browser asks for it on the page), compared in constant time. Every path
    but ``OPEN_PATHS`` needs it.

    api_key (str): The key.
    """

    def __init__(self, api_key: str) -> None:
        self.expected = api_key.encode("utf8")

    async def authenticate(self, conn: HTTPConnection) -> Optional[Tuple[AuthCredentials, BaseUser]]:
        if conn.scope["path"] in OPEN_PATHS:
            return None
        given = _given_key(conn.headers)
        if given is None or not hmac.compare_digest(given.encode("utf8"), self.expected):
            raise AuthenticationError("Missing or wrong API key")
        return AuthCredentials(["api_key"]), SimpleUser("api_key")


class LogErrorsOnce:
    """ASGI middleware: an unhandled exception becomes a generic 500 and one
    log record with its traceback (Starlette's ServerErrorMiddleware re-raises
    to the server, which logs the traceback a second time); a client that left
    mid-body, one info line.

    app (ASGIApp): The app inside.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_tracked(message: ASGIMessage) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except ClientDisconnect:  # gone before its body was read: no one to answer, nothing wrong here
            logger.info("%s %s: the client left before sending the whole body", scope["method"], scope["path"])
        except Exception as exc:  # noqa: BLE001 - the point: nothing escapes to be logged again
            logger.error("%s %s failed", scope["method"], scope["path"], exc_info=exc)
            if not started:
                await JSONResponse({"detail": "Internal server error"}, status_code=500)(scope, receive, send)


class _TooManyItems(Exception):
    pass


def _bounded_decoder(max_items: int, max_keys: int = 16) -> json.JSONDecoder:
    """A JSON decoder whose arrays hold at most ``max_items`` values and whose
    objects at most ``max(max_items, max_keys)`` (a request's own keys always
    fit): the standard library's scanner with counting ``parse_array`` and
    ``parse_object`` hooks (strings are still scanned in C), so a
    ``[1, 1, ...]`` of a million items stops at the first one too many."""
    decoder = json.JSONDecoder()

    def counted(scan_once: Callable, limit: int) -> Callable:
        seen = 0

        def scan(string: str, idx: int) -> Any:
            nonlocal seen
            seen += 1
            if seen > limit:
                raise _TooManyItems
            return scan_once(string, idx)

        return scan

    decoder.parse_array = lambda s_and_end, scan_once: json.decoder.JSONArray(s_and_end, counted(scan_once, max_items))
    decoder.parse_object = lambda s_and_end, strict, scan_once, *hooks: json.decoder.JSONObject(
        s_and_end, strict, counted(scan_once, max(max_items, max_keys)), *hooks)
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    return decoder


async def _read_texts(request: Request, settings: ServeSettings) -> Tuple[List[str], Optional[float]]:
    """The texts of a request: its body read (``_read_body``), then parsed in a worker thread (``parse_texts``)."""
    body = await _read_body(request, settings.max_body)
    return await run_in_threadpool(parse_texts, body, request.headers.get("content-type"), settings)


async def _read_body(request: Request, max_body: int) -> bytes:
    """The body, counted chunk by chunk as it arrives (chunked or not).

    RAISES (HTTPException): 413 the moment it passes ``max_body`` bytes (at once
        for a Content-Length over it), closing the connection when the rest
        may be large, so that it is never read (``_close_if_large``).
    """
    too_large = f"Request body over {max_body:,} bytes (nerkit serve --max-body-mb)"
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_body:
        raise HTTPException(413, too_large, headers=_close_if_large(request.headers))
    chunks: List[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:  # chunked (uvicorn holds a Content-Length body to its length)
            raise HTTPException(413, too_large, headers={"Connection": "close"})
        chunks.append(chunk)
    return b"".join(chunks)


class InvalidRequest(Exception):
    """A 422: what is wrong and where (pydantic's error dicts), never the input."""

    def __init__(self, errors: List[Dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _invalid_response(errors: List[Dict[str, Any]]) -> JSONResponse:
    """422 with the first ``MAX_ERRORS`` errors (loc, msg, type; never the input) and their count."""
    detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in errors[:MAX_ERRORS]]
    return JSONResponse({"detail": detail, "error_count": len(errors)}, status_code=422)


def _is_json(content_type: Optional[str]) -> bool:
    """Whether a Content-Type is JSON (``application/json`` or ``application/*+json``), as FastAPI reads it."""
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _given_key(headers: Headers) -> Optional[str]:
    """The key a request carries, if any."""
    given = headers.get("x-api-key")
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if given is None and scheme.lower() == "bearer":
        given = value.strip()
    elif given is None and scheme.lower() == "basic":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            given = base64.b64decode(value.strip(), validate=True).decode("utf8").partition(":")[2]
    return given


def _refuse_key(conn: HTTPConnection, exc: AuthenticationError) -> JSONResponse:
    """401, asking a browser for Basic auth; the body, if any, unread."""
    headers = {"WWW-Authenticate": 'Basic realm="nerkit"', **_close_if_large(conn.headers)}
    return JSONResponse({"detail": str(exc)}, status_code=401, headers=headers)


def _close_if_large(headers: Headers) -> Dict[str, str]:
    """The headers of a refusal sent before the body is read: ``Connection:
    close`` when the body may be large (chunked, or a Content-Length over
    ``DRAIN_BYTES``), so that it is never read; a smaller one uvicorn reads
    and discards (it has buffered that much already), keeping the connection,
    as closing on unread bytes resets it and the client may lose the answer."""
    length = headers.get("content-length", "")
    if "transfer-encoding" in headers or (length.isdigit() and int(length) > DRAIN_BYTES):
        return {"Connection": "close"}
    return {}


def _public_meta(nlp: Language) -> Dict[str, Any]:
    """What /meta shows: no paths (meta.json's ``nerkit`` block names files)."""
    meta = nlp.meta
    labels = sorted({
        label for name, pipe in nlp.pipeline if "doc.ents" in nlp.get_pipe_meta(name).assigns
        for label in getattr(pipe, "labels", ())
    })
    return {
        "name": f"{meta.get('lang', nlp.lang)}_{meta.get('name', 'pipeline')}",
        "version": meta.get("version"),
        "spacy_version": meta.get("spacy_version"),
        "pipeline": list(nlp.pipe_names),
        "labels": labels,
        "scores": meta.get("performance", {}),
    }


_ENTS_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": EntsRequest.model_json_schema()}}}}
