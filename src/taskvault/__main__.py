"""``python -m taskvault``."""

from .cli.main import main

raise SystemExit(main())
