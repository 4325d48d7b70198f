"""``nerkit serve MODEL``: the command line of ``nerkit.serve`` (uvicorn)."""
import os
from typing import Optional

import typer
from wasabi import msg


def serve_command(
    # fmt: off
    model: str = typer.Argument(..., metavar="MODEL", help="The pipeline: a directory or an installed package name (spacy.load)"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; 127.0.0.1 (this machine only) unless told otherwise, e.g. 0.0.0.0"),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port to listen on"),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes, each with its own copy of the pipeline (memory: one model per worker)"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="NERKIT_API_KEY", help="Require this key on every endpoint but /health (X-API-Key header, Bearer token or Basic auth password); also read from NERKIT_API_KEY", show_default=False),
    max_texts: int = typer.Option(128, "--max-texts", min=1, help="Texts per request; more gives 413"),
    max_chars: int = typer.Option(100_000, "--max-chars", min=1, help="Characters per text; a longer one gives 413"),
    max_body_mb: float = typer.Option(4.0, "--max-body-mb", min=0.001, help="Megabytes (MiB) of a request body; more gives 413 as soon as they arrive, so a refused body never costs more memory"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="nlp.pipe batch size (default: the pipeline's own)"),
    log_texts: bool = typer.Option(False, "--log-texts", help="Log the texts of each request (default: counts and timings only)"),
    max_queue: int = typer.Option(32, "--max-queue", min=0, help="Requests that may wait for the pipeline in each worker while one runs; one more gets 503 with Retry-After"),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.001, help="Seconds a request may take, waiting included, before it gets 503 (checked between nlp.pipe batches; default: no limit)", show_default=False),
    # fmt: on
) -> None:
    """Serve a pipeline over HTTP: POST /ents, GET /meta, GET /health and a
    page at / that highlights entities. Runs until interrupted (Ctrl-C; SIGTERM
    lets the requests in flight finish)."""
    try:
        import uvicorn

        import nerkit.serve  # noqa: F401 - fails early without fastapi
    except ImportError as err:
        msg.fail("nerkit serve needs FastAPI and uvicorn: pip install 'nerkit[serve]'", str(err), exits=1)
    import spacy

    try:  # fail here, once, rather than in every worker
        nlp = spacy.load(model)
    except (OSError, ValueError) as err:
        msg.fail(f"Cannot load the pipeline {model!r}", str(err), exits=1)
    os.environ.update(
        NERKIT_SERVE_MODEL=model, NERKIT_SERVE_MAX_TEXTS=str(max_texts), NERKIT_SERVE_MAX_CHARS=str(max_chars),
        NERKIT_SERVE_LOG_TEXTS="1" if log_texts else "0", NERKIT_SERVE_BATCH_SIZE=str(batch_size or ""),
        NERKIT_SERVE_MAX_QUEUE=str(max_queue), NERKIT_SERVE_TIMEOUT=str(timeout or ""), NERKIT_API_KEY=api_key or "",
        NERKIT_SERVE_MAX_BODY=str(int(max_body_mb * 1024 * 1024)),
    )
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        msg.warn(f"Serving on {host} without an API key: anyone who can reach this port can use it")
    msg.info(f"Serving {model} on http://{host}:{port}/ ({workers} worker(s)); Ctrl-C stops")
    from nerkit.serve.app import create_app, log_config, settings_from_env

    if workers == 1:  # this process serves, with the pipeline it has loaded
        uvicorn.run(create_app(nlp, settings_from_env()), host=host, port=port, log_config=log_config(),
                    log_level="info")
    else:  # each worker process loads its own copy; uvicorn replaces one that dies
        del nlp
        uvicorn.run("nerkit.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_config=log_config(), log_level="info")
