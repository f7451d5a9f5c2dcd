"""Formal languages, samplers and tasks (strings -> tensors).

    from dynrec import grammars
    lang = grammars.get("tomita3")          # grammars.names() lists all
    lang.accepts("0110"); lang.next_symbols("aab"); lang.enumerate(8)
    lang.sample(rng, 100, length_range=(0, 10))
    task = grammars.PredictionTask(grammars.get("anbn"), stream=True)
    batch = task.encode(task.sample(rng, 50))

Languages: a^n b^n, a^n b^n c^n, the counting family, odd parity, Tomita 1-7,
Reber and embedded Reber, Dyck-1/2, and any DFA. See each module for the exact
definition and source.
"""

from .base import END, Language
from .batch import Batch
from .counting import AnBn, AnBnCn, Counting, n_probabilities
from .dyck import Dyck, Dyck1, Dyck2
from .elman import ElmanLetters, TemporalXOR
from .reber import EmbeddedReber, Reber
from .registry import get, names
from .regular import DFALanguage, RegularLanguage
from .tasks import START, PredictionTask, RecognitionTask
from .tomita import Parity, Tomita1, Tomita2, Tomita3, Tomita4, Tomita5, Tomita6, Tomita7
from .training_sets import TrainingSet, training_set, training_set_names

__all__ = [
    "END", "START", "Language", "RegularLanguage", "DFALanguage", "Counting", "AnBn", "AnBnCn",
    "Dyck", "Dyck1", "Dyck2", "TemporalXOR", "ElmanLetters", "Reber", "EmbeddedReber", "Parity", "Tomita1", "Tomita2", "Tomita3",
    "Tomita4", "Tomita5", "Tomita6", "Tomita7", "get", "names", "n_probabilities",
    "PredictionTask", "RecognitionTask", "Batch", "TrainingSet", "training_set",
    "training_set_names",
]
