"""Nothing new: 200 feeds on 127.0.0.1 that answer conditional requests (ETag / Last-Modified -> 304).
After a first cycle that reads everything, a second cycle must download no article body and run no
extraction; its time is reported as a ratio of the first cycle's.

    python bench/nothing_new.py           # 200 feeds x 2 articles, 3 runs
    python bench/nothing_new.py --quick   # a small smoke run

Figures come from the `runs` table of the state (stats JSON: pages_fetched, extractions,
not_modified) and from the site's own count of what it served.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=200, help="feeds (default 200)")
    ap.add_argument("--per-feed", type=int, default=2, help="articles per feed (default 2)")
    ap.add_argument("--runs", type=int, default=3, help="first+second cycle pairs, each on a fresh state")
    ap.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test (5 feeds, 1 run)")
    args = ap.parse_args(argv)
    if args.quick:
        args.feeds, args.per_feed, args.runs = 5, 1, 1
    shared = c.require_shared("nothing_new")
    base = c.source_pages(shared)
    print(f"nothing_new: {args.feeds} feeds x {args.per_feed} article(s), {args.runs} run(s)")

    firsts, seconds, failures = [], [], []
    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp, c.serve(c.Site()) as site:
        folder = Path(tmp)
        pages = c.make_pages(base, args.feeds * args.per_feed)
        sources = []
        for f in range(args.feeds):
            path = f"/feeds/{f}.xml"
            site.add_feed(path, pages[f * args.per_feed:(f + 1) * args.per_feed])
            sources.append((f"feed{f:03d}", site.base + path))
        baseline_db, _ = c.prebuilt_baseline(folder)
        for r in range(args.runs):
            state = c.fresh_state(folder, f"state-{r}", baseline_db)
            cfg = c.write_config(folder, state, sources)
            site.reset_counts()
            first = c.run_monitor(cfg, "run", "--once")
            c.check_ok(first, "first cycle")
            s1, served1 = c.last_run_stats(state), dict(site.counts)
            site.reset_counts()
            second = c.run_monitor(cfg, "run", "--once")
            c.check_ok(second, "second cycle")
            s2, served2 = c.last_run_stats(state), dict(site.counts)
            firsts.append(first.seconds)
            seconds.append(second.seconds)
            print(f"  run {r + 1}: first {first.seconds:.2f} s (pages_fetched={s1.get('pages_fetched')}, "
                  f"extractions={s1.get('extractions')}, served {served1}); second {second.seconds:.2f} s "
                  f"(pages_fetched={s2.get('pages_fetched')}, extractions={s2.get('extractions')}, "
                  f"not_modified={s2.get('not_modified')}, served {served2})", flush=True)
            if s2.get("pages_fetched") != 0 or s2.get("extractions") != 0 or served2["page_200"] != 0:
                failures.append(r + 1)
            if s2.get("not_modified") != args.feeds or served2["feed_304"] != args.feeds:
                failures.append(r + 1)

    f_med, s_med = c.median(firsts), c.median(seconds)
    c.show([
        ("first cycle", f"median {f_med:.2f} s  {c.runs_text(firsts)}"),
        ("second cycle (all 304)", f"median {s_med:.2f} s  {c.runs_text(seconds)}"),
        ("ratio second/first", f"{s_med / f_med:.3f} (per run "
                               f"{c.runs_text([b / a for a, b in zip(firsts, seconds, strict=True)], '', 3).strip()})"),
        ("second cycle downloads", "0 article bodies, 0 extractions, every feed 304: OK" if not failures
         else f"FAILED in run(s) {sorted(set(failures))}"),
    ])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
