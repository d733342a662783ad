"""Rendered videos in Jupyter: a player and the contact sheet, for notebooks and reports.

``player(video)`` embeds the MP4 in the notebook (a self-contained cell); in a
report run (``report_dir`` set) the video is written inside the report folder
and the page links to it by a relative path instead, so the HTML stays small
and the file sits next to it. :func:`output_dir` says where a notebook should
render: ``REPORT_DIR/videos``, or a scratch directory when run by hand.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vgkit.video.graph import VideoOutput

__all__ = ["contact_sheet", "output_dir", "player"]


def output_dir(report_dir: str | os.PathLike[str] | None) -> Path:
    """Where a notebook renders: inside the report (``videos/``), else a scratch directory."""
    if report_dir is not None:
        path = Path(report_dir) / "videos"
    else:
        path = Path(tempfile.gettempdir()) / "vgkit-notebook-videos"
    path.mkdir(parents=True, exist_ok=True)
    return path


def player(
    video: VideoOutput | str | os.PathLike[str],
    *,
    width: int | None = None,
    report_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """An IPython display object playing ``video``: embedded, or linked inside a report."""
    from IPython.display import HTML, Video

    # IPython's display classes are untyped; called through typed names.
    make_html: Callable[..., Any] = HTML
    make_video: Callable[..., Any] = Video

    path = Path(video if isinstance(video, str | os.PathLike) else video.path)
    if width is None:
        width = 320
    if report_dir is not None:
        rel = os.path.relpath(path, Path(report_dir))
        src = html.escape(Path(rel).as_posix(), quote=True)
        return make_html(
            f'<video src="{src}" width="{width}" controls muted loop playsinline></video>'
        )
    return make_video(str(path), embed=True, width=width, html_attributes="controls muted loop")


def contact_sheet(video: VideoOutput | str | os.PathLike[str], *, width: int = 900) -> Any:
    """The video's contact sheet (one thumbnail per shot) as an IPython image."""
    from IPython.display import Image

    make_image: Callable[..., Any] = Image

    if isinstance(video, str | os.PathLike):
        path = Path(video)
    else:
        if video.contact_sheet is None:
            raise ValueError("this render made no contact sheet (poster=False)")
        path = video.contact_sheet
    return make_image(filename=str(path), width=width)
