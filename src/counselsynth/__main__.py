"""`python -m counselsynth`: the same as the `counselsynth` command."""

from counselsynth.cli import main

main()
