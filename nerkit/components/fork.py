"""Forked worker processes: ``nlp.pipe(texts, n_process=N)`` forks on Linux,
and a child that inherits torch's intra-op thread pool after the parent has
used it waits forever on its first parallel operation. Each child is made to
run torch on one thread (N processes on N cores: one each), and Hugging Face's
tokenizers see ``TOKENIZERS_PARALLELISM=false`` at the fork (set just around
it in the parent, kept in the child), so they run single-threaded there
without their fork warning. Registered once, when ``nerkit.components`` is
imported: by nerkit's entry points or by a package that carries the components.
"""
import os
import sys
from typing import Optional

TOKENIZERS_PARALLELISM = "TOKENIZERS_PARALLELISM"
_registered = False
_parent_value: Optional[str] = None


def _before_fork() -> None:
    global _parent_value
    _parent_value = os.environ.get(TOKENIZERS_PARALLELISM)
    os.environ[TOKENIZERS_PARALLELISM] = "false"


def _after_fork_in_parent() -> None:
    if _parent_value is None:
        os.environ.pop(TOKENIZERS_PARALLELISM, None)
    else:
        os.environ[TOKENIZERS_PARALLELISM] = _parent_value


def _after_fork_in_child() -> None:
    torch = sys.modules.get("torch")  # only where the parent imported it
    if torch is not None:
        torch.set_num_threads(1)


def register_fork_safety() -> None:
    """Make every fork from now on safe for torch and tokenizers (once per process)."""
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                            after_in_child=_after_fork_in_child)
        _registered = True
