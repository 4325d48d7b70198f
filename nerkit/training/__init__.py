"""Training helpers that configs name: corpus readers."""
from .corpus import GoldTokensCorpus, create_gold_tokens_corpus

__all__ = ["GoldTokensCorpus", "create_gold_tokens_corpus"]
