"""chainrule.utils: helpers beside the core (data loading)."""
from . import data  # noqa: F401
