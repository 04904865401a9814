"""``python -m svc_nb`` is the ``svc-nb`` command."""

import sys

from svc_nb.cli import main

sys.exit(main())
