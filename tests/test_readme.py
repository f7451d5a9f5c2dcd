"""The README's tour runs as written (with a smaller budget), so the first code a user copies works."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_setup_commands():
    text = README.read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert [line.split("#")[0].strip() for line in block] == ["make demo", "make test"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_tour_runs(monkeypatch):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    small = code.replace("ensemble=100", "ensemble=4").replace("epochs=300", "epochs=3")
    assert small != code  # the budget really was cut
    namespace: dict = {}
    exec(compile(small, str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["depth"].shape == (4,)
    assert namespace["fps"].states.shape[1] == 2
    assert namespace["ax"].figure is not None
