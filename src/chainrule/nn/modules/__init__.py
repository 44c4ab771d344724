"""The layers: one import line per module file (others add theirs below)."""
from .module import Module  # noqa: F401
from .container import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .normalization import _BatchNorm, _NormBase  # noqa: F401
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .rnn import (GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell,  # noqa: F401
                  RNNCellBase)
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from .pooling import *  # noqa: F401,F403
from .upsampling import (PixelShuffle, PixelUnshuffle, Upsample,  # noqa: F401
                         UpsamplingBilinear2d, UpsamplingNearest2d)
from .batchnorm2d import BatchNorm2d  # noqa: F401
from .padding import *  # noqa: F401,F403
from .fold import Fold, Unfold  # noqa: F401
