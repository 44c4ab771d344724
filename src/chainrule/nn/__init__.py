"""Neural networks: ``Module`` and its layers, ``functional`` (F), ``init`` and ``utils``."""
from .parameter import Buffer, Parameter  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import Module  # noqa: F401
from . import functional, init, utils  # noqa: F401
from .feature_maps import FeatureMapRecorder, feature_maps  # noqa: F401,E402
