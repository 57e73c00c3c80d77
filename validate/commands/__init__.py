"""One module per ``turing-grids`` subcommand; see :mod:`validate.cli`."""
