"""`python -m labkit ...` runs the `labkit` command (also `torchrun -m labkit run ...`)."""

from .cli import main

main()
