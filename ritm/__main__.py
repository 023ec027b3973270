"""`python -m ritm` is `ritm`."""

from ritm.cli.main import main

main()
