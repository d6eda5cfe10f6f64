"""Memory: peak RSS of `monitor run --once` whose state knows 100k claims, over a feed of article pages
served on 127.0.0.1; beside it, the same run on a state that knows only the seeds.

    python bench/memory.py            # 100,000 known claims, 200 pages, 3 runs of each
    python bench/memory.py --quick    # a small smoke run

The peak is the child's own ru_maxrss (os.wait4), so the benchmark's own memory is not counted.
The claims are generated as in bench/kb_scale.py (varied copies of real claims).
Goal (issue #5): <= 250 MB with 100k known claims.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

GOAL_MB = 250.0


def grown_state(folder: Path, baseline_db: Path, claims: int, shared: Path) -> tuple[Path, float]:
    """A state database holding the seed baseline plus generated claims up to `claims`."""
    import kb_scale

    from monitor.store.db import open_state

    state = c.fresh_state(folder, "grown", baseline_db)
    engine, _ = kb_scale.engine_and_settings()
    gen = kb_scale.Generator(kb_scale.base_claims(engine, shared), engine)
    conn = open_state(state)
    try:
        seconds = kb_scale.grow(conn, gen, claims)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return state / "monitor.db", seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=100_000, help="known claims (default 100000)")
    ap.add_argument("--n", type=int, default=200, help="article pages in the feed (default 200)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each (default 3)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test")
    args = ap.parse_args(argv)
    if args.quick:
        args.claims, args.n, args.runs = 500, 10, 1
    shared = c.require_shared("memory")
    pages = c.make_pages(c.source_pages(shared), args.n)
    env = {"MONITOR_FETCH__MAX_ENTRIES_PER_FEED": str(args.n + 10)}
    print(f"memory: run --once over {args.n} pages with {args.claims:,} known claims, {args.runs} run(s) of each")

    with tempfile.TemporaryDirectory(prefix="lw-bench-") as tmp, c.serve(c.Site()) as site:
        folder = Path(tmp)
        site.add_feed("/feed.xml", pages)
        baseline_db, _ = c.prebuilt_baseline(folder)
        grown_db, grow_s = grown_state(folder, baseline_db, args.claims, shared)
        print(f"  state with {args.claims:,} claims built in {grow_s:.1f} s "
              f"({grown_db.stat().st_size / 1e6:.0f} MB)", flush=True)
        peaks: dict[str, list[float]] = {"big": [], "seeds": []}
        times: dict[str, list[float]] = {"big": [], "seeds": []}
        for r in range(args.runs):
            for kind, db in (("big", grown_db), ("seeds", baseline_db)):
                state = c.fresh_state(folder, f"{kind}-{r}", db)
                run = c.run_monitor(c.write_config(folder, state, [("bench", site.base + "/feed.xml")]),
                                    "run", "--once", env=env)
                c.check_ok(run, f"run with the {kind} state")
                peaks[kind].append(run.max_rss_mb)
                times[kind].append(run.seconds)
            print(f"  run {r + 1}: peak RSS {peaks['big'][-1]:.0f} MB with {args.claims:,} claims "
                  f"({times['big'][-1]:.1f} s), {peaks['seeds'][-1]:.0f} MB with the seeds only "
                  f"({times['seeds'][-1]:.1f} s)", flush=True)

    big, small = c.median(peaks["big"]), c.median(peaks["seeds"])
    c.show([
        (f"peak RSS, {args.claims:,} claims", f"median {big:.0f} MB  {c.runs_text(peaks['big'], 'MB', 0)}  "
                                            f"(cycle {c.median(times['big']):.1f} s)"),
        ("peak RSS, seeds only", f"median {small:.0f} MB  {c.runs_text(peaks['seeds'], 'MB', 0)}  "
                                 f"(cycle {c.median(times['seeds']):.1f} s)"),
        ("ratio big/seeds", f"{big / small:.2f}"),
        ("goal", f"<= {GOAL_MB:.0f} MB: {'OK' if big <= GOAL_MB else 'ABOVE GOAL'}"),
    ])
    return 0


if __name__ == "__main__":
    sys.exit(main())
