"""dynrec: recurrent networks as dynamical systems that recognise formal languages.

The parts are imported as ``from dynrec import grammars, models, training,
analysis, plots``; see README.md for a tour.
"""

__version__ = "0.1.0"

__all__ = ["grammars", "models", "training", "analysis", "plots", "experiments", "__version__"]


def __getattr__(name):
    # Parts are imported lazily so that ``import dynrec`` stays cheap and the
    # command line starts fast; ``dynrec.models`` etc. still work as attributes.
    if name in __all__[:-1]:
        import importlib

        return importlib.import_module(f"dynrec.{name}")
    raise AttributeError(f"module 'dynrec' has no attribute {name!r}")
