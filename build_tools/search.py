"""Word lists for the site search of editions whose language has no spaces between words."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .fileio import write_atomically


def segmenter_dictionary(name: str | None) -> Path | None:
    """The word list an edition's search segments its text with (``Edition.search_dictionary``)."""
    if name == "zh-hk":
        return traditional_jieba_dictionary()
    return None


def quiet_jieba() -> None:
    # The site search segments Chinese with jieba, which logs at DEBUG to stderr on import.
    try:
        import jieba
    except ImportError:
        return
    jieba.setLogLevel(logging.WARNING)


def traditional_jieba_dictionary() -> Path | None:
    """jieba's dictionary converted to Hong Kong Traditional characters, made once and cached.

    jieba ships a Simplified dictionary only; with it, Traditional text segments badly
    ('供應商' -> '供' + '應商') and the Chinese edition's search finds nothing.
    """
    try:
        import jieba
        from opencc import OpenCC
    except ImportError:
        return None
    source = Path(jieba.__file__).parent / "dict.txt"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "esg-report"
    target = cache / f"jieba-{jieba.__version__}-zh-hk.txt"
    if target.exists():
        return target
    lines = source.read_text("utf-8").splitlines()
    words = OpenCC("s2hk").convert("\n".join(line.split(" ", 1)[0] for line in lines)).split("\n")
    cache.mkdir(parents=True, exist_ok=True)
    # Atomic: parallel editions may race to create it.
    write_atomically(target, "\n".join(f"{word} {line.split(' ', 1)[1]}" for word, line in zip(words, lines)) + "\n")
    return target
