"""Shared by the benchmark scripts: write one script's section of benchmarks/RESULTS.md.

Each script owns the section headed ``## <script name>``; writing replaces that
section (up to the next ``## `` heading) and leaves every other one untouched,
or appends the section when it is new.
"""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section whose heading is the first line of ``body``."""
    heading = body.lstrip().splitlines()[0]
    if not heading.startswith("## "):
        raise ValueError(f"a section must start with a '## ' heading, got {heading!r}")
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    body = body.strip("\n") + "\n"
    if pattern.search(text):
        text = pattern.sub(lambda _: body + "\n", text).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.write_text(text)
