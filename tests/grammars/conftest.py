import sys
from pathlib import Path

# make the oracle helpers importable under --import-mode=importlib
sys.path.insert(0, str(Path(__file__).parent))
