"""The one exception type for mistakes a user can fix: a config key, a variant, a path, a data line.

Library code raises `UserError` with a message that says what is wrong and what to do; `launch.py`
prints that message alone and exits with status 2 (the traceback only with `--debug`). Everything
else is a bug and keeps its traceback. `UserError` subclasses `ValueError`, so callers that catch
`ValueError` keep working.
"""


class UserError(ValueError):
  """A mistake in the command line, the config or the data; the message is the whole report."""
