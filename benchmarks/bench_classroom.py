"""Classroom benchmark (issue 12): ``make bench`` or ``python benchmarks/bench_classroom.py``.

1. A 40-turn classroom with 4 simulated students (the ``lyceum demo`` classroom: every
   mind simulated, the fractions lesson), persisted to SQLite as the CLI does, timed until
   ``run_classroom`` returns. Target: under 30 s on this machine; printed as a fraction of
   the target. The baseline, measured in the same run: the same classroom on a runtime
   without a store, so the ratio of the two is the store's cost whatever the machine's load.
2. Its HTML report (the view, both plots and the HTML file) written from the stored
   messages: seconds, and as a fraction of the run's. Then the report is checked the way a
   reader sees it: the file parses, it names the run, and each embedded PNG decodes to an
   image with a size; with Chromium at hand (Debian's ``/usr/bin/chromium`` and Playwright)
   the file is opened in a headless browser and each ``<img>`` must have loaded.
3. How the run scales with the class: 8 and 16 students, 40 turns, persisted.

Each figure is the median of ``--repeat`` runs (seeds 0, 1, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import shutil
import statistics
import struct
import time
from html.parser import HTMLParser
from pathlib import Path
from tempfile import TemporaryDirectory

from agents import Runtime
from agents.classroom import ClassroomConfig, roster, run_classroom, write_classroom_report
from agents.store import SqlRunStore

TARGET_S = 30.0


def config(students: int, seed: int, turns: int = 40) -> ClassroomConfig:
    return ClassroomConfig(students=tuple(roster(students)), turns=turns, seed=seed)


def timed_run(cfg: ClassroomConfig, store: SqlRunStore | None) -> tuple[float, str, int, str]:
    """Seconds, run id, message count and stop detail of one classroom run (ended by its
    director: the script done, or its turns used)."""
    start = time.perf_counter()
    result = asyncio.run(run_classroom(cfg, runtime=Runtime(store)))
    elapsed = time.perf_counter() - start
    assert result.reason in ("completed", "max_turns"), (result.reason, result.detail)
    return elapsed, result.run_id, len(result.messages), result.detail


class Images(HTMLParser):
    """The ``src`` of every ``<img>`` and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs).get("src") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_report(html: Path, run_id: str) -> list[tuple[int, int]]:
    """The report parses, names its run, and embeds decodable PNGs; their sizes."""
    page = Images()
    page.feed(html.read_text(encoding="utf-8"))
    assert run_id in "".join(page.text), "the report does not name its run"
    sizes = []
    for src in page.sources:
        match = re.fullmatch(r"data:image/png;base64,(.+)", src)
        assert match, f"an image is not embedded: {src[:60]}"
        sizes.append(png_size(base64.b64decode(match.group(1))))
    assert len(sizes) == 2, f"expected 2 plots, found {len(sizes)}"
    return sizes


def open_in_chromium(html: Path) -> str:
    """Open the report in headless Chromium: how many images loaded, or why not checked."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "not opened in a browser (playwright is not installed)"
    if not Path(chromium).exists():
        return "not opened in a browser (no chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page()
            page.goto(html.as_uri())
            loaded = page.eval_on_selector_all(
                "img", "els => els.map(e => e.complete && e.naturalWidth > 0)"
            )
        finally:
            browser.close()
    assert loaded and all(loaded), f"images that did not load in Chromium: {loaded}"
    return f"opened in headless Chromium: {len(loaded)}/{len(loaded)} images loaded"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium check")
    parser.add_argument("--no-scale", action="store_true", help="skip 8 and 16 students")
    args = parser.parse_args()
    seeds = range(args.repeat)
    with TemporaryDirectory() as tmp:
        store = SqlRunStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        timed_run(config(1, 0, turns=2), store)  # warm: imports, schema, knowledge graph
        stored = [timed_run(config(4, s), store) for s in seeds]
        memory = [timed_run(config(4, s), None) for s in seeds]
        wall = statistics.median(s[0] for s in stored)
        bare = statistics.median(s[0] for s in memory)
        messages = statistics.median(s[2] for s in stored)
        print(
            f"Classroom, 4 simulated students, 40 turns, persisted to SQLite (median of "
            f"{args.repeat}): {wall:.2f} s = {wall / TARGET_S:.1%} of the {TARGET_S:.0f} s target "
            f"({'met' if wall < TARGET_S else 'NOT met'}); {messages:.0f} messages, "
            f"{wall / messages * 1000:.1f} ms each; the director: {stored[0][3]}"
        )
        print(
            f"  baseline, the same classroom without a store: {bare:.2f} s; "
            f"persisted / in memory = {wall / bare:.2f}"
        )
        run_id = stored[0][1]
        times = []
        for _ in range(2):  # the first one imports matplotlib
            start = time.perf_counter()
            report = write_classroom_report(
                store.messages(run_id), config(4, 0), run_id, Path(tmp) / "reports"
            )
            times.append(time.perf_counter() - start)
        cold, written = times
        sizes = check_report(report.html, run_id)
        kib = report.html.stat().st_size / 1024
        print(
            f"Report: {written:.2f} s to write ({written / wall:.2f}x the run; {cold:.2f} s the "
            f"first time, importing matplotlib), {kib:.0f} KiB, "
            f"plots {', '.join(f'{w}x{h}' for w, h in sizes)} px embedded as PNG"
        )
        if not args.no_browser:
            print(f"  {open_in_chromium(report.html)}")
        if args.no_scale:
            return
        for students in (8, 16):
            runs = [timed_run(config(students, s), store) for s in seeds]
            seconds = statistics.median(r[0] for r in runs)
            print(
                f"  {students} students, 40 turns, persisted: {seconds:.2f} s = "
                f"{seconds / wall:.2f}x the 4-student class, {seconds / TARGET_S:.1%} of the target"
            )


if __name__ == "__main__":
    main()
