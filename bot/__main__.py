"""`python -m bot` is `quotebot`."""

from bot.cli import main

raise SystemExit(main())
