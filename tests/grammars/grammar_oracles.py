"""Independent brute-force definitions of the languages, written unlike the implementation
(regexes, counting, rewriting), used as test oracles."""

import itertools
import re


def runs(s):
    return [(c, len(list(g))) for c, g in itertools.groupby(s)]


def tomita3(s):
    rs = runs(s)
    odd1 = [i for i, (c, n) in enumerate(rs) if c == "1" and n % 2]
    odd0 = [i for i, (c, n) in enumerate(rs) if c == "0" and n % 2]
    return not any(i < j for i in odd1 for j in odd0)


def tomita5_original(s):
    """Tomita's wording: even length and, read as pairs, an even number of 01 or 10 pairs."""
    pairs = [s[i:i + 2] for i in range(0, len(s), 2)]
    return len(s) % 2 == 0 and sum(p in ("01", "10") for p in pairs) % 2 == 0


BINARY = {
    "tomita1": lambda s: re.fullmatch(r"1*", s) is not None,
    "tomita2": lambda s: re.fullmatch(r"(10)*", s) is not None,
    "tomita3": tomita3,
    "tomita4": lambda s: "000" not in s,
    "tomita5": lambda s: s.count("0") % 2 == 0 and s.count("1") % 2 == 0,
    "tomita6": lambda s: (s.count("0") - s.count("1")) % 3 == 0,
    "tomita7": lambda s: re.fullmatch(r"0*1*0*1*", s) is not None,
    "parity": lambda s: s.count("1") % 2 == 1,
}


def counting(k):
    letters = "abcdefghijklmnopqrstuvwxyz"[:k]
    pattern = re.compile("".join(f"({c}+)" for c in letters))

    def member(s):
        m = pattern.fullmatch(s)
        return m is not None and len({len(g) for g in m.groups()}) == 1

    return member


def dyck(s, pairs=("()", "[]")):
    """Delete innermost pairs until nothing changes; a member reduces to the empty string."""
    prev = None
    while prev != s:
        prev = s
        for p in pairs:
            s = s.replace(p, "")
    return s == ""


_R = r"(TS*X(XT*VP)*(S|XT*VV)|PT*V(PXT*V)*(V|PS))"
_REBER = re.compile(r"B" + _R + r"E")
_EMBEDDED = re.compile(r"B(TB" + _R + r"ET|PB" + _R + r"EP)E")


def reber(s):
    return _REBER.fullmatch(s) is not None


def embedded_reber(s):
    return _EMBEDDED.fullmatch(s) is not None


ALL = dict(BINARY, anbn=counting(2), anbncn=counting(3), dyck1=lambda s: dyck(s, ("()",)),
           dyck2=dyck, reber=reber, embedded_reber=embedded_reber)


def all_strings(alphabet, max_len):
    for n in range(max_len + 1):
        for t in itertools.product(alphabet, repeat=n):
            yield "".join(t)


def shortlex(strings, alphabet):
    return sorted(strings, key=lambda s: (len(s), [alphabet.index(c) for c in s]))
