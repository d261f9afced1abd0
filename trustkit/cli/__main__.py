"""``python -m trustkit.cli``: the same as the ``trustkit`` console script."""

from . import main

main()
