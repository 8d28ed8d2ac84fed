"""Optimizers in optax's shape: AdaX, AdaX-W and Tiger."""
from flaxnlp.optim.adax import ScaleByAdaxState
from flaxnlp.optim.adax import adax
from flaxnlp.optim.adax import adaxw
from flaxnlp.optim.adax import scale_by_adax
from flaxnlp.optim.tiger import TigerState
from flaxnlp.optim.tiger import tiger
from flaxnlp.optim.tiger import tiger_param_kinds
