"""`python -m ketenbrug.cli`: the same command line as the `ketenbrug` script."""

from ketenbrug.cli import main

main()
