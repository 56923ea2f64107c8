"""`python -m engine` is the same as the `tensorstage` command."""

from engine.cli import main

raise SystemExit(main())
