"""Suite-wide settings.

Hypothesis: in CI (``CI=true``) the properties run derandomized (the same examples on every
run, no example database), so a CI result depends on the commit, not on luck; a developer's
``make test`` explores new examples on every run and keeps the failing ones in
``.hypothesis/``. Failures print the blob that reproduces them (``@reproduce_failure``).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("true", "1", "yes") else "dev")
