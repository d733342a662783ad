"""Running a report: a notebook executed with papermill into a folder of its own.

``run_report("load-test", {"seed": 3})`` executes ``notebooks/load-test.ipynb``
into ``reports/load-test-<UTC timestamp>/`` (see :mod:`vgkit.reports`). The
notebook runs with that folder as its working directory and ``report_dir = "."``
injected, so everything it saves or prints is a relative path. It runs on a
kernel that is this very Python (the venv vgkit is installed in): the
``python3`` kernel when it resolves here, otherwise a ``vgkit`` kernelspec
installed into ``sys.prefix``; the kernel talks over IPC sockets, not TCP.
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from vgkit.config import settings
from vgkit.errors import ReportError
from vgkit.reports.html import HIDE_CELL_TAGS, export_html, read_notebook
from vgkit.reports.provenance import portable_path, provenance
from vgkit.reports.store import NAME

__all__ = [
    "DEFAULT_CELL_TIMEOUT",
    "KERNEL_NAME",
    "REPORT_DIR_PARAMETER",
    "Report",
    "available_reports",
    "effective_parameters",
    "kernel_name",
    "notebook_parameters",
    "notebook_path",
    "run_report",
]

KERNEL_NAME = "vgkit"
REPORT_DIR_PARAMETER = "report_dir"
DEFAULT_CELL_TIMEOUT = 600
"""Seconds one notebook cell may run before the report fails."""


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it, else as it is."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True, slots=True)
class Report:
    """Where a report went: its folder and the files in it."""

    name: str
    folder: Path
    notebook: Path
    html: Path
    provenance: Path
    results: tuple[Path, ...]

    def files(self) -> list[Path]:
        """Every file the report wrote, the page and the executed notebook first."""
        rest = sorted(
            p
            for p in self.folder.rglob("*")
            if p.is_file() and p not in {self.html, self.notebook, self.provenance}
        )
        return [p for p in (self.html, self.notebook) if p.exists()] + rest + [self.provenance]

    def summary(self) -> str:
        """The folder and every file in it, one a line (what ``vgkit report`` prints)."""
        files = self.files()
        lines = [f"report {self.name} -> {_shown(self.folder)}/ ({len(files)} files)"]
        lines += [f"  {p.relative_to(self.folder).as_posix()}" for p in files]
        return "\n".join(lines)


# -- finding notebooks ---------------------------------------------------------


def available_reports(notebooks_dir: str | Path | None = None) -> list[str]:
    """Report names: the notebooks in the notebooks directory, without ``.ipynb``."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else settings().notebooks_dir
    return sorted(p.stem for p in folder.glob("*.ipynb")) if folder.is_dir() else []


def notebook_path(name: str, notebooks_dir: str | Path | None = None) -> Path:
    """The notebook behind report ``name`` (``NAME.ipynb``, else ``NAME-report.ipynb``)."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else settings().notebooks_dir
    for candidate in (f"{name}.ipynb", f"{name}-report.ipynb"):
        path = folder / candidate
        if NAME.match(name) and path.is_file():
            return path
    known = available_reports(folder)
    listing = ", ".join(known) if known else f"none: {folder} has no notebooks"
    raise ReportError(f"no report named {name!r}; available reports: {listing}")


def notebook_parameters(path: str | Path) -> dict[str, dict[str, Any]]:
    """The notebook's ``parameters`` cell: name -> {default, inferred_type_name, help}."""
    import papermill

    try:
        found: dict[str, dict[str, Any]] = papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises bare exceptions for unreadable notebooks
        raise ReportError(f"cannot read the parameters of {path}: {exc}") from exc
    return found


def _check_parameters(name: str, path: Path, parameters: Mapping[str, Any]) -> None:
    if REPORT_DIR_PARAMETER in parameters:
        raise ReportError(f"{REPORT_DIR_PARAMETER} is set by the report runner; do not pass it")
    known = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        accepted = ", ".join(k for k in known if k != REPORT_DIR_PARAMETER) or "none"
        raise ReportError(
            f"report {name} has no parameter {', '.join(unknown)}; it takes: {accepted}"
        )


def effective_parameters(source: Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The values a report ran with: the notebook's defaults, then the overrides."""
    values: dict[str, Any] = {}
    for key, spec in notebook_parameters(source).items():
        if key == REPORT_DIR_PARAMETER:
            continue
        try:
            values[key] = ast.literal_eval(str(spec.get("default")))
        except (ValueError, SyntaxError):
            values[key] = spec.get("default")
    return {**values, **overrides}


# -- the kernel ----------------------------------------------------------------


def _runs_here(argv: list[str]) -> bool:
    # jupyter_client swaps a bare "python"/"python3" for the launching interpreter.
    names = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}
    # Compare unresolved paths: a venv's python is a symlink to the system one.
    return bool(argv) and (
        argv[0] in names or Path(argv[0]).absolute() == Path(sys.executable).absolute()
    )


def kernel_name() -> str:
    """A kernel that runs this Python, so the notebook imports this vgkit (installed if need be)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    for name in ("python3", KERNEL_NAME):
        try:
            spec = manager.get_kernel_spec(name)
        except NoSuchKernel:
            continue
        if _runs_here(spec.argv):
            return name
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name=f"vgkit ({sys.prefix})", prefix=sys.prefix)
    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    if not _runs_here(spec.argv):
        raise ReportError(
            f"the {KERNEL_NAME} kernelspec at {spec.resource_dir} runs {spec.argv[0]}, not "
            f"{sys.executable}; remove it (jupyter kernelspec remove {KERNEL_NAME}) and retry"
        )
    return KERNEL_NAME


def ipc_kernel_manager() -> type[Any]:
    """A kernel manager whose kernels listen on IPC (Unix) sockets rather than TCP.

    The report's kernel is private to this process: on TCP, ipykernel warns on every
    run that the traffic is unencrypted; on Unix sockets there is nothing to warn of.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc" if os.name == "posix" else "tcp"

    return IPCKernelManager


# -- running -------------------------------------------------------------------


def _new_folder(root: Path, name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = root / (f"{name}-{stamp}" if n == 1 else f"{name}-{stamp}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise ReportError(f"cannot make a new report folder under {root}")


def _sections(notebook: Path) -> list[str]:
    """The Markdown headings of a notebook, in order (the report's outline)."""

    headings = []
    for cell in read_notebook(notebook).cells:
        if cell.cell_type == "markdown" and not HIDE_CELL_TAGS & set(cell.metadata.get("tags", [])):
            headings += [
                line.lstrip("#").strip()
                for line in cell.source.splitlines()
                if line.startswith("#")
            ]
    return headings


def run_report(
    name: str,
    parameters: Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    *,
    notebooks_dir: str | Path | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    progress: bool = False,
    show_code: bool = False,
) -> Report:
    """Run notebook ``name`` with ``parameters`` into a new folder under ``out_dir``.

    ``out_dir`` is the reports root (default ``VGKIT_REPORTS_DIR``, ``reports``);
    the report goes to ``out_dir/NAME-<UTC timestamp>/``. The HTML page hides the
    code unless ``show_code``. A failing cell raises :class:`ReportError` naming
    the cell, after the executed notebook, its HTML and the provenance
    (``status: failed``) have been written.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params = dict(parameters or {})
    source = notebook_path(name, notebooks_dir)
    _check_parameters(name, source, params)
    root = Path(out_dir) if out_dir is not None else settings().reports_dir
    folder = _new_folder(root, name)
    executed, html = folder / f"{name}.ipynb", folder / f"{name}.html"
    kernel = kernel_name()
    started, clock = datetime.now(UTC), time.perf_counter()
    failure: str | None = None
    try:
        papermill.execute_notebook(
            str(source),
            str(executed),
            parameters={**params, REPORT_DIR_PARAMETER: "."},
            kernel_name=kernel,
            kernel_manager_class=ipc_kernel_manager(),
            cwd=str(folder.resolve()),
            progress_bar=progress,
            execution_timeout=cell_timeout,
        )
    except PapermillExecutionError as exc:
        failure = f"cell In [{exc.exec_count}] raised {exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, timeout, unreadable notebook: all end the report
        failure = f"{type(exc).__name__}: {exc}"
    record = provenance(
        effective_parameters(source, params),
        folder=source.parent,
        overrides=params,
        report=name,
        notebook=portable_path(source),
        notebook_sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        kernel=kernel,
        show_code=show_code,
        status="failed" if failure else "ok",
        error=failure,
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - clock, 3),
        sections=_sections(executed) if executed.exists() else [],
    )
    prov = folder / "provenance.json"
    prov.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2, default=str) + b"\n")
    if executed.exists():
        export_html(executed, html, show_code=show_code)
    if failure:
        raise ReportError(f"report {name} failed: {failure}; see {_shown(executed)}")
    results = folder / "results"
    return Report(
        name=name,
        folder=folder,
        notebook=executed,
        html=html,
        provenance=prov,
        results=tuple(sorted(results.iterdir())) if results.is_dir() else (),
    )
