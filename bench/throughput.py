"""Throughput: a full `monitor run --once` over N article pages served on 127.0.0.1 through one RSS
feed, against trafilatura extraction alone (monitor.extract.extract_document) on the same bytes.

    python bench/throughput.py            # N=500 pages, 3 runs of each, side by side
    python bench/throughput.py --quick    # a small smoke run

Goal (issue #5): pipeline throughput >= 0.7 x extraction-only throughput.
Each pipeline run starts from a fresh state holding a prebuilt seed baseline; the baseline build
(part of a real first run) is timed on its own and reported separately.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

GOAL = 0.7


def extraction_only(pages: list[c.Page], base: str) -> float:
    """Seconds to decode and extract every page in this process, one after another."""
    from monitor.errors import ExtractError
    from monitor.extract import extract_document
    from monitor.fetch import decode_body

    start = time.perf_counter()
    for p in pages:
        with contextlib.suppress(ExtractError):  # a page with no article costs its extraction all the same
            extract_document(decode_body(p.body, "text/html"), base + p.path, "bench")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500, help="article pages in the feed (default 500)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test (n=20, 1 run)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.runs = 20, 1
    shared = c.require_shared("throughput")
    pages = c.make_pages(c.source_pages(shared), args.n)
    env = {"MONITOR_FETCH__MAX_ENTRIES_PER_FEED": str(args.n + 10)}
    print(f"throughput: {args.n} pages ({sum(len(p.body) for p in pages) / 1e6:.1f} MB of HTML) "
          f"through one feed, {args.runs} run(s) of each")

    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp, c.serve(c.Site()) as site:
        folder = Path(tmp)
        site.add_feed("/feed.xml", pages)
        site.add_feed("/empty.xml", [])
        baseline_db, baseline_s = c.prebuilt_baseline(folder)
        extraction_only(pages[:3], site.base)  # warm trafilatura's lazy imports and caches

        fixed, pipe, extract, stats = [], [], [], {}
        for r in range(args.runs):
            state = c.fresh_state(folder, f"empty-{r}", baseline_db)
            run = c.run_monitor(c.write_config(folder, state, [("bench", site.base + "/empty.xml")]), "run", "--once")
            c.check_ok(run, "empty cycle")
            fixed.append(run.seconds)

            state = c.fresh_state(folder, f"state-{r}", baseline_db)
            cfg = c.write_config(folder, state, [("bench", site.base + "/feed.xml")])
            site.reset_counts()
            run = c.run_monitor(cfg, "run", "--once", env=env)
            c.check_ok(run, "pipeline run")
            pipe.append(run.seconds)
            stats = c.last_run_stats(state)
            if stats.get("pages_fetched") != args.n:
                print(f"  warning: run {r} fetched {stats.get('pages_fetched')} of {args.n} pages ({site.counts})")

            extract.append(extraction_only(pages, site.base))
            print(f"  run {r + 1}: pipeline {pipe[-1]:.2f} s, extraction only {extract[-1]:.2f} s, "
                  f"empty cycle {fixed[-1]:.2f} s", flush=True)

    p_med, e_med = c.median(pipe), c.median(extract)
    ratio = e_med / p_med
    ratios = [e / p for e, p in zip(extract, pipe, strict=True)]
    c.show([
        ("baseline build (seeds, once)", f"{baseline_s:.2f} s (not in the pipeline figures below)"),
        ("empty cycle (startup, fixed)", f"median {c.median(fixed):.2f} s  {c.runs_text(fixed)}"),
        ("pipeline run --once", f"median {p_med:.2f} s  {c.runs_text(pipe)}  -> {args.n / p_med:.1f} pages/s"),
        ("extraction only", f"median {e_med:.2f} s  {c.runs_text(extract)}  -> {args.n / e_med:.1f} pages/s"),
        ("cycle stats (last run)", ", ".join(f"{k}={stats.get(k)}" for k in
                                             ("pages_fetched", "extractions", "articles", "relevant", "duplicates",
                                              "alerts"))),
        ("ratio pipeline/extraction", f"{ratio:.2f} (per run {c.runs_text(ratios, '', 2).strip()}; "
                                      f"goal >= {GOAL}) {'OK' if ratio >= GOAL else 'BELOW GOAL'}"),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
