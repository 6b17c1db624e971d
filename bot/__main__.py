"""`python -m bot` is `quotebot`."""

from bot.cli import main

# Guarded: a first index build segments on worker processes that are started
# by importing this module again, and must not run the command a second time.
if __name__ == "__main__":
    raise SystemExit(main())
