"""``python -m spikingnn``: the same as the ``spikingnn`` command (see spikingnn.cli)."""
from spikingnn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
