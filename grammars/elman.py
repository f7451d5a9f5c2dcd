"""The two finite 'languages' whose concatenation gives Elman's (1990) prediction streams.

Elman, J. L. (1990). Finding structure in time. Cognitive Science 14, 179-211.

- Temporal XOR (section 3): a stream of bits in which every third bit is the
  exclusive-or of the two before it. As a language: the four triples
  {000, 011, 101, 110}; ``PredictionTask(get("temporal_xor"), stream=True)``
  concatenates sampled triples into Elman's stream, and only every third bit
  is deterministic.
- Letter sequences (section 4): consonants b, d, g drawn at random and each
  replaced by its syllable ba, dii, guuu. As a language: {ba, dii, guuu}; in a
  stream the vowels are predictable, the consonants are not. Elman coded each
  letter as a 6-bit feature vector; dynrec's tasks use one-hot codes, a
  difference the elman-1990-letters preset states.

Both are regular (finite) languages, so they sample, enumerate and minimise
like any other DFA: sampling draws members uniformly (all XOR triples have
length 3; the three syllables have distinct lengths 2, 3, 4, each drawn with
probability 1/3 by the length-uniform sampler, i.e. consonants uniformly, as
Elman did).
"""

from __future__ import annotations

from .regular import RegularLanguage


def _trie(words: list[str]) -> tuple[dict, list[str]]:
    """A DFA (as a prefix tree) accepting exactly ``words``."""
    transitions: dict[str, dict[str, str]] = {"": {}}
    for w in words:
        for i, c in enumerate(w):
            transitions.setdefault(w[:i], {})[c] = w[: i + 1]
            transitions.setdefault(w[: i + 1], {})
    return transitions, list(words)


class TemporalXOR(RegularLanguage):
    """Triples (x, y, x XOR y) of bits: {000, 011, 101, 110} (Elman 1990, section 3)."""

    def __init__(self):
        t, acc = _trie(["000", "011", "101", "110"])
        super().__init__("01", t, "", acc, name="temporal_xor",
                         description="temporal XOR triples x y (x xor y) (Elman 1990)")


class ElmanLetters(RegularLanguage):
    """Syllables {ba, dii, guuu} (Elman 1990, section 4)."""

    def __init__(self):
        t, acc = _trie(["ba", "dii", "guuu"])
        super().__init__("bdgaiu", t, "", acc, name="elman_letters",
                         description="Elman's syllables ba, dii, guuu (Elman 1990)")
