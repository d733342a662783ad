"""vgkit: multi-agent video-plan generation and the performance machinery around it.

Quick start::

    import vgkit
    result = vgkit.generate("How solar panels work", platforms=["tiktok", "youtube"])
    plan = result.plan("tiktok")
    print(plan.to_markdown())

The top level holds what a notebook starts with: :func:`generate` and
:func:`agenerate`, the :class:`Orchestrator`, the request, plan and result
types, and every error (the tree is in :mod:`vgkit.errors`). Everything else
is reached by namespace, each listing its public names in its ``__all__``:
``vgkit.agents`` (backends, agent specs, cost model), ``vgkit.cache``,
``vgkit.client``, ``vgkit.serve``, ``vgkit.queue``, ``vgkit.loadtest``,
``vgkit.tuning``, ``vgkit.reports``, ``vgkit.experiments``, ``vgkit.plots``,
``vgkit.dashboard``, ``vgkit.claims``, ``vgkit.video`` (rendering), ``vgkit.netlab``,
``vgkit.executors``, ``vgkit.scheduler`` and ``vgkit.tracing`` (trace context and
spans). ``import vgkit`` loads the
embedded pipeline only; those namespaces (and aiohttp, redis, pandas) load
when first used, as
``vgkit.cache`` or ``from vgkit.cache import ...``.
"""

import typing as _typing
from importlib import import_module as _import_module
from types import ModuleType as _ModuleType

# Each public name is written once, here; ``X as X`` marks it as exported (for
# mypy and ruff) and ``__all__`` below is read off these imports.
from vgkit.api import agenerate as agenerate
from vgkit.api import generate as generate
from vgkit.errors import *  # noqa: F403 - every VgkitError, as listed in vgkit.errors.__all__
from vgkit.generation import GenerationResult as GenerationResult
from vgkit.models import QualityReport as QualityReport
from vgkit.models import Script as Script
from vgkit.models import Storyboard as Storyboard
from vgkit.models import Style as Style
from vgkit.models import TopicAnalysis as TopicAnalysis
from vgkit.models import VideoPlan as VideoPlan
from vgkit.models import VideoRequest as VideoRequest
from vgkit.orchestrator import Orchestrator as Orchestrator
from vgkit.platforms import Platform as Platform

__version__ = "0.1.0"

#: The public names: everything imported above (the subpackages excluded), and the version.
__all__ = [
    *sorted(n for n, v in globals().items() if n[0] != "_" and not isinstance(v, _ModuleType)),
    "__version__",
]

#: Namespaces ``vgkit.NAME`` imports on first use (the others load with ``import vgkit``).
_LAZY_NAMESPACES = frozenset(
    {
        "cache", "claims", "client", "dashboard", "experiments", "loadtest", "netlab",
        "plots", "queue", "reports", "serve", "tuning", "video",
    }
)  # fmt: skip


if not _typing.TYPE_CHECKING:  # mypy resolves ``vgkit.cache`` itself, and still reports typos

    def __getattr__(name: str) -> _ModuleType:
        if name in _LAZY_NAMESPACES:
            return _import_module(f"vgkit.{name}")
        raise AttributeError(f"module 'vgkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_NAMESPACES})
