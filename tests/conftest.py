"""Shared test settings: the hypothesis profile (no deadline; CI sets HYPOTHESIS_PROFILE),
and Ctrl-C as a terminal gives it.

A shell's background job starts with SIGINT ignored, and a child inherits that: Python then
makes no KeyboardInterrupt, and the tests that send SIGINT to a run (as a terminal's Ctrl-C)
waited out their guards. Handling SIGINT here, as an interactive pytest does, gives every
child SIGINT at its default again (exec resets a handled signal, keeps an ignored one).
"""

import os
import signal

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
