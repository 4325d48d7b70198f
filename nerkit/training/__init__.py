"""Training helpers that configs name: corpus readers, the console logger,
training memory settings, and the schedule sized from the data (``schedule``,
used by ``nerkit train``)."""
from .corpus import GoldTokensCorpus, create_gold_tokens_corpus
from .logger import console_logger
from .memory import training_memory
from .schedule import Schedule, count_steps_per_epoch, plan_schedule, schedule_for_data

__all__ = ["GoldTokensCorpus", "Schedule", "console_logger", "count_steps_per_epoch", "create_gold_tokens_corpus",
           "plan_schedule", "schedule_for_data", "training_memory"]
