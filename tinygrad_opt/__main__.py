"""`python -m tinygrad_opt` runs the same command line as `tinygrad-opt`."""

from tinygrad_opt.cli import main

raise SystemExit(main())
