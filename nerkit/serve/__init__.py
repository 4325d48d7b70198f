"""``nerkit serve``: a pipeline behind an HTTP API (FastAPI + uvicorn, the
``serve`` extra). ``create_app(nlp)`` builds the app; see ``app.py``."""
from .app import API_KEY_ENV, ServeSettings, create_app, log_config

__all__ = ["API_KEY_ENV", "ServeSettings", "create_app", "log_config"]
