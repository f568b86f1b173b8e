"""The data directory is its service user's alone: no file or folder the service, its children or its runs
made is open to the group or to others (the index, logs, Prefect's database and auth string, materials)."""

from __future__ import annotations

import os
import stat


def test_nothing_in_the_data_directory_is_open_to_others(service):
    open_to_others = []
    for folder, subfolders, files in os.walk(service.data_dir):
        for name in [*subfolders, *files]:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and mode & 0o077:
                open_to_others.append(f"{oct(stat.S_IMODE(mode))} {os.path.relpath(path, service.data_dir)}")
    assert stat.S_IMODE(os.stat(service.data_dir).st_mode) == 0o700
    assert not open_to_others, "\n".join(open_to_others)
