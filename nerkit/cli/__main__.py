"""``python -m nerkit.cli``: the ``nerkit`` command where its script is not on PATH (project.yml)."""
from . import app

app(prog_name="nerkit")
