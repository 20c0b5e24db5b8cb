"""`python -m minidl SPEC` is `python -m minidl.compile SPEC`."""

import sys

from minidl.compile import main

sys.exit(main())
