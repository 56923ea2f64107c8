"""`python -m engine` is the same as the `tensorstage` command."""

from engine.cli import main

if __name__ == "__main__":   # not when a spawned child (audio, OSC) imports it
    raise SystemExit(main())
