"""nerkit: CoNLL-style corpora to fast, accurate, pip-installable spaCy NER pipelines.

Subpackages:
    conll       read, validate, convert and write CoNLL column files (no torch)
    scoring     conlleval-exact entity scores, token table, error breakdown, reports (no torch)
    components  the token-classification NER head and the case-aware listener
    training    the corpus reader that trains on a DocBin's own tokens and whole documents, the schedule
    packaging   the model to package by rule, the wheel with nerkit's components, the fresh-venv check
    annotate    (a module) annotate files of any size with a pipeline, streaming (txt/jsonl/conll -> jsonl/conll/spacy)
    cli         the ``nerkit`` console command, one subcommand a verb (``nerkit --help``)

Registered functions are found by spaCy through the entry points in pyproject.toml,
so a config that names them works without importing this package first.
"""

__version__ = "0.1.0"
