"""``vgkit quality PLAN.json``: score a plan file, optionally made worse on purpose."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vgkit.errors import InvalidRequestError

__all__ = ["register"]


def cmd_quality(args: argparse.Namespace) -> int:
    from vgkit.models import VideoPlan
    from vgkit.quality import degrade, score_plan

    path = Path(args.plan)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot read plan file {path}: {exc.strerror or exc}; give a plan JSON that "
            "vgkit generate --out wrote"
        ) from exc
    plan = VideoPlan.from_json(text)
    if args.degrade:
        plan = degrade(plan, args.degrade)
    report = score_plan(plan)
    if args.json:
        print(report.to_json())
        return 0
    verdict = "passes" if report.passed else "FAILS"
    print(f"{plan.platform.value} plan {plan.plan_id}: overall {report.overall:.3f}, {verdict}")
    for check in report.checks():
        mark = "ok " if check.passed else "LOW"
        print(f"  {mark} {check.name:<20} {check.score:.3f} (threshold {check.threshold:g})")
        for reason in check.reasons:
            print(f"        - {reason}")
    return 0 if report.passed or not args.strict else 1


def register(sub: Any) -> None:
    from vgkit.quality import DEGRADATIONS

    p = sub.add_parser(
        "quality",
        help="score a plan file: coherence, engagement, feasibility, platform compliance",
        description="Scores a VideoPlan JSON (as vgkit generate --out writes it) with the "
        "quality validator and prints each check with its reasons. --degrade makes the "
        "plan worse on purpose first, to see the score fall.",
    )
    p.add_argument("plan", metavar="PLAN.json", help="a plan JSON file")
    p.add_argument("--degrade", choices=list(DEGRADATIONS), help="make the plan worse first")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when the plan fails a check")
    p.set_defaults(handler=cmd_quality)
