"""``vgkit render``: plan files into MP4 videos."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit.config import settings
from vgkit.errors import RenderError

if TYPE_CHECKING:
    from vgkit.video import RenderConfig


def add_render_options(parser: argparse.ArgumentParser, *, with_input: bool) -> None:
    """Options shared by ``vgkit render`` and ``vgkit generate --render``."""
    parser.add_argument(
        "--preview", action="store_true", help="half size, fastest encoder preset (quick looks)"
    )
    parser.add_argument(
        "--voice",
        default=None,
        metavar="V",
        help="eSpeak NG voice or language for the narration (default en-us; "
        "`vgkit render --list-voices` lists them)",
    )
    parser.add_argument("--no-voice", action="store_true", help="no narration")
    parser.add_argument("--music", metavar="FILE", help="music bed under the voice")
    parser.add_argument("--assets", metavar="DIR", help="pictures and clips to use for shots")
    parser.add_argument(
        "--jobs", type=int, metavar="N", help="render worker processes (default: one per CPU)"
    )
    parser.add_argument(
        "--no-render-cache", action="store_true", help="render every clip; keep none for next time"
    )
    if with_input:
        parser.add_argument(
            "-p",
            "--platform",
            dest="platforms",
            action="append",
            metavar="PLATFORM",
            help="render only this platform's plan (repeat for several)",
        )


def render_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`vgkit.video.render` from parsed options."""
    if args.no_voice and args.voice:
        raise RenderError("--voice and --no-voice contradict each other; drop one")
    options: dict[str, Any] = {
        "preview": args.preview,
        "voice": None if args.no_voice else (args.voice or "en-us"),
        "music": args.music,
        "assets": args.assets,
        "jobs": args.jobs,
        "cache": not args.no_render_cache,
    }
    return options


def render_config(args: argparse.Namespace, out_dir: Path) -> RenderConfig:
    """The RenderConfig of parsed options (``vgkit generate --render``)."""
    from vgkit.video import RenderConfig

    options = render_options(args)
    return RenderConfig(
        preset="preview" if options["preview"] else "final",
        voice=options["voice"],
        music=Path(options["music"]) if options["music"] else None,
        assets=Path(options["assets"]) if options["assets"] else None,
        jobs=options["jobs"],
        cache=options["cache"],
        out_dir=out_dir,
    )


def default_output(source: Path) -> Path:
    """Where a render writes when ``-o`` is not given: beside the plan, or into its directory."""
    return source if source.is_dir() else source.with_suffix(".mp4")


def cmd_render(args: argparse.Namespace) -> int:
    from vgkit import video

    if args.list_voices:
        for voice in video.voices():
            print(f"{', '.join(voice.languages):<22} {voice.name}")
        return 0
    if args.source is None:
        raise RenderError("give a plan file or a directory of plans (vgkit generate --out DIR)")
    source = Path(args.source)
    out = Path(args.output) if args.output else default_output(source)
    redis_url = args.redis or (settings().redis_url if args.distributed else None)
    if args.distributed and not redis_url:
        raise RenderError("--distributed needs --redis URL (or VGKIT_REDIS_URL): the render queue")
    result = video.render(
        source,
        out,
        platforms=args.platforms,
        redis_url=redis_url,
        key_prefix=args.key_prefix,
        distributed=args.distributed,
        **render_options(args),
    )
    print(result.summary())
    for v in result.videos.values():
        print(f"open {v.path}")
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "render",
        help="render plans into MP4 videos (offline: eSpeak NG narration, burned-in captions)",
    )
    parser.add_argument("source", nargs="?", help="a plan JSON file, or a directory of them")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the .mp4 to write (one plan), or a directory (PLATFORM.mp4 each); "
        "default: beside the plan",
    )
    parser.add_argument("--list-voices", action="store_true", help="list the narration voices")
    add_render_options(parser, with_input=True)
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="share rendered clips through this Redis (another machine or cache reuses them)",
    )
    parser.add_argument("--key-prefix", metavar="PREFIX", help="key prefix (VGKIT_KEY_PREFIX)")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="put each missing clip on the render queue at --redis for `vgkit worker`s "
        "(this process takes clips too)",
    )
    parser.set_defaults(handler=cmd_render)
