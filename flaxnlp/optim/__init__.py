"""Optimizers in optax's shape: AdaX and AdaX-W."""
from flaxnlp.optim.adax import ScaleByAdaxState
from flaxnlp.optim.adax import adax
from flaxnlp.optim.adax import adaxw
from flaxnlp.optim.adax import scale_by_adax
