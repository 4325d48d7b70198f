"""The HTTP API of ``nerkit serve``: a FastAPI app over one loaded pipeline.

- ``POST /ents`` ``{"texts": [...]}`` -> ``{"docs": [{"text", "ents": [...]}]}``:
  all texts in one ``nlp.pipe`` call, entities in displaCy's manual format.
- ``GET /health`` (never needs the key), ``GET /meta`` (name, version,
  labels, the scores in meta.json), ``GET /`` (a page that highlights the
  entities of a pasted text, displaCy's ent style).

Handlers are plain ``def``: FastAPI runs them in its thread pool, and one
lock serializes the pipeline (spaCy's vocab and a memory zone per request are
not safe to share between threads; torch uses its own threads inside a call).
Safe by default: limits on texts per request and characters per text (413),
an optional API key (401, compared in constant time), error bodies without
stack traces, paths or the input, and logs without the texts unless asked.
"""
import base64
import binascii
import contextlib
import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Dict, List, Optional

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, StrictStr
from spacy.language import Language

from ..annotate import encodable, memory_zone
from ..ents import ents_json

logger = logging.getLogger("nerkit.serve")
API_KEY_ENV = "NERKIT_API_KEY"


@dataclass(frozen=True)
class ServeSettings:
    """What ``nerkit serve``'s options set.

    max_texts (int): Texts per request; more gives 413.
    max_chars (int): Characters per text; a longer text gives 413.
    api_key (Optional[str]): Required on every endpoint but /health when set.
    log_texts (bool): Log the texts of each request (off: counts only).
    batch_size (Optional[int]): ``nlp.pipe`` batch size; None: the pipeline's.
    """

    max_texts: int = 128
    max_chars: int = 100_000
    api_key: Optional[str] = None
    log_texts: bool = False
    batch_size: Optional[int] = None


class EntsRequest(BaseModel):
    texts: List[StrictStr]


class Ent(BaseModel):
    start: int
    end: int
    label: str
    text: str


class DocEnts(BaseModel):
    text: str
    ents: List[Ent]


class EntsResponse(BaseModel):
    docs: List[DocEnts]


def create_app(nlp: Language, settings: ServeSettings = ServeSettings()) -> FastAPI:
    """The app serving ``nlp``.

    nlp (Language): The loaded pipeline, shared by all requests of this process.
    settings (ServeSettings): Limits, API key, logging.
    RETURNS (FastAPI): The app; run it with uvicorn.
    """
    app = FastAPI(title="nerkit", description="Named entities from a spaCy pipeline", docs_url=None, redoc_url=None)
    lock = threading.Lock()
    require_key = _key_checker(settings.api_key)
    meta = _public_meta(nlp)
    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf8")
    max_body = settings.max_texts * (6 * settings.max_chars + 8) + 1024

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        # refuse a body larger than any valid request before reading it (JSON may
        # spell a character as a 6-byte escape); a chunked body is bounded by the limits above
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            return JSONResponse({"detail": f"Request body over {max_body:,} bytes"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default body echoes the input; this one says only where and what
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "Internal server error"}, status_code=500)

    @app.get("/health")
    def health() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/meta", dependencies=[Depends(require_key)])
    def get_meta() -> Dict[str, Any]:
        return meta

    @app.get("/", response_class=HTMLResponse, dependencies=[Depends(require_key)])
    def get_page() -> str:
        return page

    @app.post("/ents", response_model=EntsResponse, dependencies=[Depends(require_key)])
    def post_ents(request: EntsRequest) -> Dict[str, Any]:
        texts = request.texts
        if len(texts) > settings.max_texts:
            raise HTTPException(413, f"Too many texts: {len(texts)}, at most {settings.max_texts} per request")
        for i, text in enumerate(texts):
            if len(text) > settings.max_chars:
                raise HTTPException(413, f"texts[{i}] has {len(text)} characters, at most {settings.max_chars}")
            if not encodable(text):
                raise HTTPException(422, f"texts[{i}] holds a lone surrogate (a \\ud800-\\udfff escape), not text")
        start = time.perf_counter()
        with lock, memory_zone(nlp):  # the strings of a request are freed after it
            docs = [{"text": doc.text, "ents": ents_json(doc)} for doc in nlp.pipe(texts, batch_size=settings.batch_size)]
        n_ents = sum(len(doc["ents"]) for doc in docs)
        logger.info(
            "POST /ents: %d texts, %d chars, %d entities, %.1f ms%s", len(texts), sum(map(len, texts)), n_ents,
            1000 * (time.perf_counter() - start), f", texts={texts!r}" if settings.log_texts else "",
        )
        return {"docs": docs}

    return app


def settings_from_env() -> ServeSettings:
    """The serve settings from the ``NERKIT_SERVE_*`` environment variables that ``nerkit serve`` sets."""
    env = os.environ
    batch_size = env.get("NERKIT_SERVE_BATCH_SIZE")
    return ServeSettings(
        max_texts=int(env["NERKIT_SERVE_MAX_TEXTS"]),
        max_chars=int(env["NERKIT_SERVE_MAX_CHARS"]),
        api_key=env.get(API_KEY_ENV) or None,
        log_texts=env.get("NERKIT_SERVE_LOG_TEXTS") == "1",
        batch_size=int(batch_size) if batch_size else None,
    )


def app_from_env() -> FastAPI:
    """The app factory uvicorn calls in each worker process (``nerkit serve
    --workers N`` with N > 1): the pipeline and settings come from
    ``NERKIT_SERVE_*`` environment variables, which the command sets."""
    import spacy

    return create_app(spacy.load(os.environ["NERKIT_SERVE_MODEL"]), settings_from_env())


def _key_checker(api_key: Optional[str]):
    """A dependency raising 401 unless the request carries ``api_key`` as
    ``X-API-Key``, ``Authorization: Bearer KEY`` or the password of HTTP Basic
    auth (so a browser asks for it on the page); no key set: no check."""
    expected = api_key.encode("utf8") if api_key else None

    def require_key(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if given is None and scheme.lower() == "bearer":
            given = value.strip()
        elif given is None and scheme.lower() == "basic":
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                given = base64.b64decode(value.strip(), validate=True).decode("utf8").partition(":")[2]
        if given is None or not hmac.compare_digest(given.encode("utf8"), expected):
            raise HTTPException(401, "Missing or wrong API key", headers={"WWW-Authenticate": 'Basic realm="nerkit"'})

    return require_key


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
