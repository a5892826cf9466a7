"""The fuzz tests import their driver (fuzz_server.py, also the long run's script) by name."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
