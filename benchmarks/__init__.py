"""The CoNLL-2003 side-by-side benchmark: `python benchmarks/run.py --help`.
See benchmarks/README.md."""
