"""Where a command writes: folders and files checked before the work that fills them.

A bad ``--out`` or ``--draw`` is an :class:`~vgkit.errors.OutputError` (one line,
exit status 2) before anything is generated, not a traceback after it.
"""

from __future__ import annotations

import os
from pathlib import Path

from vgkit.errors import OutputError

__all__ = ["output_dir", "output_file"]


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def output_dir(path: str | Path, option: str = "--out") -> Path:
    """``path`` as a folder that exists (created if need be) and can be written to."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OutputError(f"{option} {path}: a file is in the way; name a folder") from exc
    except OSError as exc:
        raise OutputError(
            f"{option} {path}: cannot create the folder ({_reason(exc)}); "
            "choose a folder you can write to"
        ) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: the folder is not writable; choose another")
    return folder


def output_file(path: str | Path, option: str, *, suffixes: frozenset[str] | None = None) -> Path:
    """``path`` as a file that can be written: its folder exists and is writable, and
    its suffix is one of ``suffixes`` (when given)."""
    file = Path(path)
    if file.is_dir():
        raise OutputError(f"{option} {path}: that is a folder; name a file in it")
    if suffixes is not None and file.suffix.lower().lstrip(".") not in suffixes:
        known = ", ".join(f".{s}" for s in sorted(suffixes))
        raise OutputError(f"{option} {path}: unknown file type {file.suffix!r}; use one of {known}")
    folder = file.parent if str(file.parent) else Path()
    if not folder.is_dir():
        raise OutputError(
            f"{option} {path}: the folder {folder} does not exist; create it or choose another"
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (file.exists() and not os.access(file, os.W_OK)):
        raise OutputError(f"{option} {path}: cannot write there; choose another place")
    return file
