"""``python -m fastmlp``: the same command line as the ``fastmlp`` script."""
from fastmlp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
