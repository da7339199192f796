"""`python -m proxy` is the `clever-proxy` command."""

import sys

from proxy.cli import main

sys.exit(main())
