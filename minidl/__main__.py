"""`python -m minidl SPEC` is `python -m minidl.compile SPEC`."""

import sys

from minidl.cli.main import main

sys.exit(main())
