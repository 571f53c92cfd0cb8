"""Usage records: the buffered recorder and how entries become records and rollups."""

from keystead.events.usage._rollup import Completed, Entry, VerifiedEntry, summarise, to_record
from keystead.events.usage.recorder import FullPolicy, UsageRecorder

__all__ = [
    "Completed",
    "Entry",
    "FullPolicy",
    "UsageRecorder",
    "VerifiedEntry",
    "summarise",
    "to_record",
]
