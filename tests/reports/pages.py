"""What a reader sees of a report page, and what it must never show."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Text(HTMLParser):
    """The text a reader sees: no scripts, styles or embedded images."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in {"script", "style"}

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in {"script", "style"}

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def check_page(html: str, *forbidden: str) -> str:
    """What every report page must not show: code, prompts, raw floats, absolute paths."""
    text = page_text(html)
    assert "In [" not in text and not re.search(r"(await|import) \w+[.(]", text), "code shown"
    assert not re.search(r"\d\.\d+e[+-]\d\d", text), "a number in exponent notation"
    assert "NaN" not in text and " nan " not in text
    assert not re.search(r"(^|[\s'\"(])/(work|root|home|tmp)/", text), "an absolute path"
    for glyph in ("✅", "❌", "⚠"):  # missing from many fonts: words instead
        assert glyph not in text
    for word in forbidden:
        assert word not in text, word
    return text
