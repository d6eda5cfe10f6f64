"""The `monitor` command: thin adapters over monitor.service; expected errors print 'Error: …' and exit 2."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import threading
from functools import wraps
from pathlib import Path
from typing import TextIO

import click

from monitor import __version__, progress, service, web
from monitor.baseline import stored_conflicts
from monitor.config import Settings, load_settings, redacted, resolve_config_path
from monitor.errors import MonitorError
from monitor.model import Judgement, Verdict
from monitor.store import outbox
from monitor.store import sources as health
from monitor.store.knowledge import SqliteKnowledge

EXIT_UNUSABLE = 2


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                           "logger": record.name, "message": record.getMessage()}, ensure_ascii=False)


def _setup_logging(fmt: str, verbose: bool) -> None:
    handler = progress.LogHandler(sys.stderr)  # steps around a progress bar on a terminal
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def expected_errors(fn):
    """Expected failures become one clear paragraph and exit code 2; tracebacks are for bugs."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MonitorError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(EXIT_UNUSABLE)
    return wrapper


def _settings(ctx: click.Context) -> Settings:
    if "settings" not in ctx.obj:
        ctx.obj["settings"] = load_settings(resolve_config_path(ctx.obj["config"]))
        fmt = ctx.obj["log_format"] or ctx.obj["settings"].monitor.log_format
        _setup_logging(fmt, ctx.obj["verbose"])
        ctx.obj["effective_log_format"] = fmt
    return ctx.obj["settings"]


def _bar_stream(ctx: click.Context) -> TextIO | None:
    """Where progress bars may go: stderr with text logs (drawn only if it is a terminal); never with JSON logs."""
    return sys.stderr if ctx.obj.get("effective_log_format", "text") == "text" else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", metavar="PATH",
              help="Config file (default: $MONITOR_CONFIG, then config/monitor.toml, else embedded defaults).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None, help="Log format (json for containers).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(__version__, prog_name="lunarwatch")
@click.pass_context
def cli(ctx: click.Context, config: str | None, log_format: str | None, verbose: bool) -> None:
    """lunarwatch: report what is new or contradictory in the news about the ILRS and the Lunar Gateway."""
    ctx.ensure_object(dict)
    ctx.obj.update(config=config, log_format=log_format, verbose=verbose)


@cli.command()
@click.option("--once", is_flag=True, help="Run one cycle and exit (0 ok, 3 alerts queued, 2 cannot run).")
@click.option("--force", is_flag=True, help="Ignore per-source backoff after failures.")
@click.pass_context
@expected_errors
def run(ctx: click.Context, once: bool, force: bool) -> None:
    """Check the sources: one cycle with --once, else every interval until SIGTERM/SIGINT.

    The long-lived form also serves /healthz, /metrics and /alerts.atom when `[web] port` is set.
    """
    settings = _settings(ctx)
    stream = _bar_stream(ctx)
    if once:
        stats = progress.run_once(settings, force, stream=stream)
        sys.exit(stats.exit_code)
    from monitor.scheduler import run_forever

    with service.state(settings) as conn, web.serving(settings):
        run_forever(lambda stop: progress.run_once(settings, force, stop, conn, stream),
                    settings.monitor.interval_minutes, threading.Event())


@cli.command()
@click.option("--rebuild", is_flag=True, help="Rebuild the baseline from the seed documents.")
@click.option("--report", is_flag=True, help="List the conflicts found among the seed documents.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@expected_errors
def baseline(ctx: click.Context, rebuild: bool, report: bool, as_json: bool) -> None:
    """Show the known claims of the baseline (seed documents)."""
    settings = _settings(ctx)
    if rebuild:
        n, conflicts = progress.rebuild_baseline(settings, _bar_stream(ctx))
        click.echo(f"Baseline rebuilt: {n} claims from {settings.monitor.seeds_dir}, {len(conflicts)} seed conflict(s).")
    with service.state(settings) as conn:
        progress.ensure_baseline(settings, conn, _bar_stream(ctx))
        kb = SqliteKnowledge(conn)
        seeds = kb.all("seed")
        if report:
            _print_conflicts(conn, kb, as_json)
            return
        if as_json:
            click.echo(json.dumps([{"id": k.id, "claim": k.claim.text, "source": k.provenance.url,
                                    "published": k.provenance.published.isoformat() if k.provenance.published else None,
                                    "disputed": k.disputed} for k in seeds], indent=2, ensure_ascii=False))
            return
        for k in seeds:
            flag = " [disputed]" if k.disputed else ""
            click.echo(f"{k.id:>5}  {k.provenance.url}{flag}\n       {k.claim.text}")
        click.echo(f"{len(seeds)} seed claims ({sum(k.disputed for k in seeds)} disputed).")


def _print_conflicts(conn, kb: SqliteKnowledge, as_json: bool) -> None:
    rows = stored_conflicts(conn)
    items = []
    for a, b, slot, detail in rows:
        ka, kb_ = kb.get([a])[0], kb.get([b])[0]
        items.append({"slot": slot, "detail": detail,
                      "a": {"claim": ka.claim.text, "source": ka.provenance.url},
                      "b": {"claim": kb_.claim.text, "source": kb_.provenance.url}})
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for i, it in enumerate(items, 1):
        click.echo(f"{i}. conflicting {it['slot']}: {it['detail']}")
        click.echo(f"   {it['a']['source']}: {it['a']['claim']}")
        click.echo(f"   {it['b']['source']}: {it['b']['claim']}")
    click.echo(f"{len(items)} conflict(s) among the seeds; both sides are marked disputed, neither is settled.")


@cli.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@expected_errors
def check(ctx: click.Context, target: str, as_json: bool) -> None:
    """Dry run on one URL or HTML file: every claim with its verdict and reason; nothing is stored or sent."""
    j = service.check(_settings(ctx), target)
    if as_json:
        click.echo(json.dumps(_judgement_json(j), indent=2, ensure_ascii=False))
        return
    _print_judgement(j)


def _judgement_json(j: Judgement) -> dict:
    return {"url": j.document.url, "title": j.document.title, "relevant": j.relevant, "topics": j.topics,
            "reason": j.reason, "would_alert": bool(j.alerting_findings),
            "claims": [{"verdict": f.verdict.value, "minor": f.minor, "alerting": f.alerting, "claim": f.claim.text,
                        "reason": f.reason, "conflict_slot": f.conflict_slot, "scores": f.scores,
                        "matched": [{"claim": k.claim.text, "source": k.provenance.url} for k in f.matched]}
                       for f in j.findings]}


def _print_judgement(j: Judgement) -> None:
    click.echo(f"{j.document.title or j.document.url}\n{j.reason}")
    if not j.relevant:
        click.echo("Off-topic: no claim is judged and nothing would alert.")
        return
    width = 96
    for f in j.findings:
        label = f.verdict.value.upper() + (" (minor)" if f.minor else "")
        mark = "!" if f.alerting else " "
        click.echo(f"\n{mark} {label}")
        click.echo(textwrap.fill(f.claim.text, width, initial_indent="    claim:  ", subsequent_indent=" " * 12))
        click.echo(textwrap.fill(f.reason, width, initial_indent="    why:    ", subsequent_indent=" " * 12))
        for k in f.matched[:1]:
            click.echo(textwrap.fill(f"{k.claim.text} [{k.provenance.url}]", width,
                                     initial_indent="    known:  ", subsequent_indent=" " * 12))
    n = len(j.alerting_findings)
    click.echo(f"\n{len(j.findings)} claim(s); {n} would alert" + (
        f" as {'a contradiction' if any(f.verdict is Verdict.CONTRADICTION for f in j.alerting_findings) else 'a new development'}."
        if n else "; this article would raise no alert."))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@expected_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """Per source: last success, last error, items seen; knowledge-base size; queued alerts."""
    report = service.status_report(_settings(ctx))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    kb = report["knowledge_base"]
    click.echo(f"State: {report['state_dir']}  baseline: {'built' if report['baseline_built'] else 'not built'}")
    click.echo(f"Knowledge base: {kb['claims']} claims ({kb['seed_claims']} from seeds), {kb['articles']} articles")
    d = report["alerts"]["deliveries"]
    click.echo(f"Alerts: {report['alerts']['total']} total; deliveries " +
               (", ".join(f"{k}={v}" for k, v in sorted(d.items())) or "none"))
    if report["last_cycle"]:
        click.echo(f"Last cycle: {report['last_cycle']['finished_at']} ({report['last_cycle']['status']})")
    click.echo(f"\n{'source':24} {'state':8} {'last success':21} {'last error':18} {'fails':>5} {'items':>6}")
    for s in report["sources"]:
        click.echo(f"{s['name'][:24]:24} {s['state']:8} {s['last_success'] or '-':21} {(s['last_error'] or '-')[:18]:18} "
                   f"{s['consecutive_failures']:>5} {s['items_seen']:>6}")


@cli.group()
def sources() -> None:
    """List the configured sources, test one now, or reset its errors."""


@sources.command("list")
@click.pass_context
@expected_errors
def sources_list(ctx: click.Context) -> None:
    """The configured sources."""
    for s in _settings(ctx).sources:
        click.echo(f"{s.name:24} {s.kind:5} {'on ' if s.enabled else 'off'} {s.url}")


@sources.command("test")
@click.argument("name")
@click.pass_context
@expected_errors
def sources_test(ctx: click.Context, name: str) -> None:
    """Fetch one source now and show what it carries (nothing is stored)."""
    import asyncio

    from monitor.fetch import Fetcher
    from monitor.sources import parse_feed

    settings = _settings(ctx)
    src = next((s for s in settings.sources if s.name == name), None)
    if src is None:
        raise MonitorError(f"no source named {name!r} (see `monitor sources list`)")

    async def go():
        async with Fetcher(settings.fetch) as f:
            return await f.fetch(src.url, trusted=True)

    res = asyncio.run(go())
    click.echo(f"{res.status} {res.url} ({len(res.body)} bytes, {res.content_type or 'no content type'})")
    if src.kind == "feed":
        for e in parse_feed(res.body, res.headers, src.name, res.url, settings.fetch.max_entries_per_feed):
            click.echo(f"  {e.published.date() if e.published else '----------'}  {e.title[:80]}")


@sources.command("reset")
@click.argument("name")
@click.pass_context
@expected_errors
def sources_reset(ctx: click.Context, name: str) -> None:
    """Clear a source's error count and backoff."""
    with service.state(_settings(ctx)) as conn:
        if not health.reset_errors(conn, name):
            raise MonitorError(f"no source named {name!r} in the state yet")
    click.echo(f"Reset errors of {name}.")


@cli.group()
def alerts() -> None:
    """Recent alerts; redeliver one by id."""


@alerts.command("list")
@click.option("--limit", default=20, show_default=True, help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@expected_errors
def alerts_list(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Recent alerts, newest first."""
    with service.state(_settings(ctx), lock=False) as conn:
        items = outbox.recent_alerts(conn, limit)
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for p in items:
        click.echo(f"{p['created_at']}  {p['id']}  {p['type']:16} {p['summary'][:100]}")


@alerts.command("redeliver")
@click.argument("alert_id")
@click.pass_context
@expected_errors
def alerts_redeliver(ctx: click.Context, alert_id: str) -> None:
    """Send an alert again on every channel, with the same id."""
    from monitor.alerts.deliver import deliver_due

    settings = _settings(ctx)
    with service.state(settings) as conn:
        from monitor.store.db import transaction

        with transaction(conn):
            n = outbox.requeue(conn, alert_id)
        if not n:
            raise MonitorError(f"no alert with id {alert_id!r}")
        stats = deliver_due(conn, settings.alerts)
    click.echo(f"Redelivered {alert_id}: {stats.delivered} sent, {stats.failed} failed.")
    sys.exit(3 if stats.failed else 0)


@cli.command()
@click.argument("corpus_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@expected_errors
def replay(ctx: click.Context, corpus_dir: Path, as_json: bool) -> None:
    """Backtest: judge a folder of saved articles on a throw-away state; with labels, print precision/recall."""
    from monitor.replay import replay as run_replay

    result = run_replay(_settings(ctx), corpus_dir)
    if as_json:
        click.echo(json.dumps({"alerts": result.alerts, "metrics": result.metrics, "skipped": result.skipped,
                               "rows": result.rows}, indent=2, ensure_ascii=False))
        return
    for a in result.alerts:
        click.echo(f"{a['type']:16} {a['article']['url']}\n                 {a['summary'][:120]}")
    for line in result.skipped:
        click.echo(f"skipped: {line}")
    if result.rows:
        click.echo(f"\n{'article':48} {'kind':14} {'alerts':>6}  verdict")
        for rid, kind, n, verdict in result.rows:
            click.echo(f"{rid[:48]:48} {kind:14} {n:>6}  {verdict}")
    if result.metrics:
        click.echo("metrics: " + " ".join(f"{k}={v:.2f}" for k, v in result.metrics.items()))
    else:
        click.echo(f"{len(result.alerts)} alert(s) would have been sent (no labels.jsonl: no precision/recall).")


@cli.command("config")
@click.option("--show", is_flag=True, help="Print the effective config with secrets redacted.")
@click.pass_context
@expected_errors
def config_cmd(ctx: click.Context, show: bool) -> None:
    """Validate the configuration (and print it with --show)."""
    settings = _settings(ctx)
    if show:
        click.echo(json.dumps(redacted(settings), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(f"Configuration is valid ({settings.config_path or 'embedded defaults'}).")


@cli.command()
@click.pass_context
@expected_errors
def healthcheck(ctx: click.Context) -> None:
    """Exit 0 when a cycle finished within two intervals and the state is usable, else 1."""
    ok, why = service.healthy(_settings(ctx))
    click.echo(("healthy: " if ok else "unhealthy: ") + why)
    sys.exit(0 if ok else 1)


def main() -> None:
    try:
        cli(obj={})
    except MonitorError as e:  # config errors raised before a command's own handler
        click.echo(f"Error: {e}", err=True)
        sys.exit(EXIT_UNUSABLE)


if __name__ == "__main__":
    main()
