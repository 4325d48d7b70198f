"""Training helpers that configs name: corpus readers and the console logger."""
from .corpus import GoldTokensCorpus, create_gold_tokens_corpus
from .logger import console_logger

__all__ = ["GoldTokensCorpus", "console_logger", "create_gold_tokens_corpus"]
