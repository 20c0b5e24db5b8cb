"""Where the command line writes (issue 27): `--out` folders shared by concurrent runs, and
`--out FILE` that names something other than a regular file, or a file of the run itself."""

from __future__ import annotations

import threading
from pathlib import Path

from minidl.cli.main import UsageError, _check_out


def test_concurrent_runs_sharing_an_out_folder_never_fail_its_write_test(tmp_path: Path) -> None:
    """The write test used one fixed file name: two processes removed each other's (278
    failures in 6,000 calls)."""
    failures: list[str] = []

    def check_many() -> None:
        for _ in range(1500):
            try:
                _check_out(tmp_path)
            except UsageError as caught:
                failures.append(str(caught))

    threads = [threading.Thread(target=check_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert list(tmp_path.iterdir()) == []  # no probe left behind
