"""A config file (in the `ml_collections.config_flags` sense) for the config a workdir was trained with.

  python launch.py --config flaxnlp/workdir_config.py:runs/x --workdir runs/x --mode eval

`launch.py --mode eval|predict` uses it by itself whenever `runs/x/config.json` exists, so
`--config.*` overrides apply to the saved config (and are checked against it).
"""
import ml_collections

from flaxnlp import configs
from flaxnlp.errors import UserError


def get_config(workdir: str | None = None) -> ml_collections.ConfigDict:
  """The locked config saved in `workdir/config.json`."""
  if not workdir:
    raise UserError("flaxnlp/workdir_config.py needs the workdir: --config "
                    "flaxnlp/workdir_config.py:WORKDIR")
  return configs.load_workdir_config(workdir)
