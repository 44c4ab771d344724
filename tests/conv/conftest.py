"""The conv tests use the shared PyTorch conformance harness in tests/conformance.py."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
