"""`python -m factory` runs the `affect-factory` command."""
from factory.cli import main

raise SystemExit(main())
