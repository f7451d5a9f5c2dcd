"""Experiments: TOML configs, the batch runner, the run directory and its results.

```python
from dynrec import experiments

exp = experiments.load_config("tomita3.toml", overrides=["model.n_hidden=3"])
run_dir = experiments.run("tomita3.toml", workers=4)        # or backend="dask"
frame = experiments.load(run_dir)                             # one row per (cell, seed)
```

Parts: ``config`` (TOML -> validated :class:`Experiment` -> grid cells),
``worker`` (one chunk of seeds of one cell: train, evaluate, analyse -> plain
records), ``backends`` (in-process, loky processes, Dask), ``runner``
(:func:`run`), ``store`` (:class:`RunDir`, atomic records, :func:`load`),
``toml_writer`` (the resolved config back to TOML).
"""

from dynrec.experiments.config import Cell, Experiment, load_config
from dynrec.experiments.runner import FailedRecordsWarning, plan, run
from dynrec.experiments.store import RunDir, load

__all__ = ["Experiment", "Cell", "load_config", "run", "plan", "RunDir", "load",
           "FailedRecordsWarning"]
