"""Pictures of what a model computes: computation graphs (``viz.graph``) and plots."""
from . import graph  # noqa: F401
from . import filters  # noqa: F401,E402
from .filters import (feature_map_grid, filter_grid, plot_feature_map_grid,  # noqa: F401,E402
                      plot_feature_maps, plot_filters)
