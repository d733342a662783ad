"""Reports: a notebook run with papermill into a folder that explains itself.

``run_report("load-test", {"seed": 3})`` executes ``notebooks/load-test.ipynb``
into ``reports/load-test-<UTC timestamp>/``::

    load-test.ipynb     the executed notebook (parameters injected after the `parameters` cell)
    load-test.html      the same, rendered; cells tagged to hide stay hidden
    results/            what the notebook saved with save_result (JSON, and CSV for tables)
    provenance.json     git commit and dirtiness, package versions, Python, machine,
                        parameters, seeds, Redis version (when a Redis URL is in play),
                        timings and the notebook's section headings

Cell tags the HTML export honours (the Jupyter Book / nbconvert conventions):
``remove-cell`` or ``hide`` drop the whole cell, ``remove-input`` or
``hide-input`` drop its code and keep its output, ``remove-output`` or
``hide-output`` drop its output.

The runner injects one extra parameter, ``report_dir`` (the folder above, as a
string); a notebook run by hand has ``report_dir = None`` and
:func:`save_result` then saves nothing. Notebooks run on a kernel that is this
very Python (the venv vgkit is installed in): the ``python3`` kernel when it
resolves here, otherwise a ``vgkit`` kernelspec installed into ``sys.prefix``.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from vgkit.config import settings
from vgkit.errors import ReportError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HIDE_CELL_TAGS",
    "HIDE_INPUT_TAGS",
    "HIDE_OUTPUT_TAGS",
    "KERNEL_NAME",
    "Report",
    "available_reports",
    "kernel_name",
    "notebook_parameters",
    "notebook_path",
    "provenance",
    "run_report",
    "save_result",
]

HIDE_CELL_TAGS = frozenset({"remove-cell", "hide"})
HIDE_INPUT_TAGS = frozenset({"remove-input", "hide-input"})
HIDE_OUTPUT_TAGS = frozenset({"remove-output", "hide-output"})
KERNEL_NAME = "vgkit"
REPORT_DIR_PARAMETER = "report_dir"
DEFAULT_CELL_TIMEOUT = 600
"""Seconds one notebook cell may run before the report fails."""
#: Distributions whose versions every provenance records (absent ones as null).
KEY_PACKAGES = (
    "vgkit", "aiohttp", "redis", "diskcache", "orjson", "pydantic", "pandas", "numpy",
    "matplotlib", "prometheus-client", "hdrhistogram", "zstandard", "papermill",
    "nbconvert", "ipykernel", "ipywidgets",
)  # fmt: skip
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class Report:
    """Where a report went: its folder and the files in it."""

    name: str
    folder: Path
    notebook: Path
    html: Path
    provenance: Path
    results: tuple[Path, ...]

    def summary(self) -> str:
        lines = [f"report {self.name} -> {self.folder}/", f"  {self.html.name}"]
        lines += [f"  results/{p.name}" for p in self.results]
        lines.append(f"  {self.provenance.name}")
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
        if _NAME.match(name) and path.is_file():
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


# -- provenance ----------------------------------------------------------------


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _git_state(folder: Path) -> dict[str, Any] | None:
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return None
    changes = _git(folder, "status", "--porcelain", "--untracked-files=no") or ""
    changed = [line for line in changes.splitlines() if line.strip()]
    return {
        "commit": commit,
        "branch": _git(folder, "rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(changed),
        "changed_files": len(changed),
    }


#: The lock file `make setup` installs with (`make lock` refreshes it).
LOCK_FILE = "constraints.txt"


def _lock_state(folder: Path) -> dict[str, Any] | None:
    """The lock file's name and SHA-256, so two reports show whether they ran the same pins."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    lock = Path(top) / LOCK_FILE if top else None
    if lock is None or not lock.is_file():
        return None
    return {"file": LOCK_FILE, "sha256": hashlib.sha256(lock.read_bytes()).hexdigest()}


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _redis(url: str | None) -> dict[str, Any] | None:
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            info = client.info("server")
        finally:
            client.close()
    except (redis.RedisError, ValueError) as exc:
        return {"url": _mask(url), "version": None, "error": str(exc)}
    return {"url": _mask(url), "version": info.get("redis_version")}


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


def provenance(
    parameters: Mapping[str, Any], *, folder: Path | None = None, **extra: Any
) -> dict[str, Any]:
    """Everything needed to say where a report's numbers came from.

    ``folder`` is any directory inside the git work tree (default: the notebooks
    directory); ``extra`` is merged in (report name, timings, status).
    """
    where = folder if folder is not None else settings().notebooks_dir
    redis_url = parameters.get("redis_url") or settings().redis_url
    return {
        **extra,
        "parameters": dict(parameters),
        "seeds": {k: v for k, v in parameters.items() if "seed" in k.lower()},
        "git": _git_state(where),
        "lock": _lock_state(where),
        "packages": _versions(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "machine": {
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "system": platform.system(),
        },
        "redis": _redis(str(redis_url) if redis_url else None),
        "settings": settings().as_dict(),
    }


# -- results -------------------------------------------------------------------


def _jsonable(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data.astype(object)
        return frame.where(frame.notna(), None).to_dict(orient="records")
    return data


def save_result(
    name: str, data: pd.DataFrame | Mapping[str, Any] | list[Any], report_dir: str | Path | None
) -> list[Path]:
    """Save a notebook's result into its report folder: ``results/NAME.json`` and,
    for a DataFrame (or a flat dict), ``results/NAME.csv``.

    ``report_dir`` is the parameter the report runner injects; when it is None
    (the notebook was run by hand) nothing is written and the list is empty.
    """
    import pandas as pd

    if not _NAME.match(name):
        raise ReportError(f"result names use letters, digits, '.', '_' and '-', not {name!r}")
    if report_dir is None:
        return []
    folder = Path(report_dir) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{name}.json"
    option = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    json_path.write_bytes(orjson.dumps(_jsonable(data), option=option, default=str) + b"\n")
    written = [json_path]
    table: pd.DataFrame | None = None
    if isinstance(data, pd.DataFrame):
        table = data
    elif isinstance(data, Mapping) and all(
        isinstance(v, str | int | float | bool) or v is None for v in data.values()
    ):
        table = pd.DataFrame({"key": list(data), "value": list(data.values())})
    if table is not None:
        csv_path = folder / f"{name}.csv"
        table.to_csv(csv_path, index=False)
        written.append(csv_path)
    return written


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


def _read(notebook: Path) -> Any:
    import nbformat

    return nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]


def export_html(notebook: Path, html: Path) -> None:
    """Render an executed notebook as HTML, dropping what its cell tags hide."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(HIDE_CELL_TAGS)
    config.TagRemovePreprocessor.remove_input_tags = set(HIDE_INPUT_TAGS)
    config.TagRemovePreprocessor.remove_all_outputs_tags = set(HIDE_OUTPUT_TAGS)
    exporter = HTMLExporter(config=config)  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(_read(notebook))
    html.write_text(body, encoding="utf-8")


def _sections(notebook: Path) -> list[str]:
    """The Markdown headings of a notebook, in order (the report's outline)."""

    headings = []
    for cell in _read(notebook).cells:
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
) -> Report:
    """Run notebook ``name`` with ``parameters`` into a new folder under ``out_dir``.

    ``out_dir`` is the reports root (default ``VGKIT_REPORTS_DIR``, ``reports``);
    the report goes to ``out_dir/NAME-<UTC timestamp>/``. A failing cell raises
    :class:`ReportError` naming the cell, after the executed notebook, its HTML
    and the provenance (``status: failed``) have been written.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params = dict(parameters or {})
    source = notebook_path(name, notebooks_dir)
    _check_parameters(name, source, params)
    folder = _new_folder(Path(out_dir) if out_dir is not None else settings().reports_dir, name)
    executed, html = folder / f"{name}.ipynb", folder / f"{name}.html"
    kernel = kernel_name()
    started, clock = datetime.now(UTC), time.perf_counter()
    failure: str | None = None
    try:
        papermill.execute_notebook(
            str(source),
            str(executed),
            parameters={**params, REPORT_DIR_PARAMETER: str(folder.resolve())},
            kernel_name=kernel,
            cwd=str(source.parent),
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
        notebook=str(source),
        notebook_sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        kernel=kernel,
        status="failed" if failure else "ok",
        error=failure,
        started_at=started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - clock, 3),
        sections=_sections(executed) if executed.exists() else [],
    )
    prov = folder / "provenance.json"
    prov.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2, default=str) + b"\n")
    if executed.exists():
        export_html(executed, html)
    if failure:
        raise ReportError(f"report {name} failed: {failure}; see {executed}")
    results = folder / "results"
    return Report(
        name=name,
        folder=folder,
        notebook=executed,
        html=html,
        provenance=prov,
        results=tuple(sorted(results.iterdir())) if results.is_dir() else (),
    )
