"""Resident memory of a fresh process: idle after build_app, then after one daily fan-out.

Run by bench.fanout as `python -m bench.rss_probe URL SCHEMA`; prints one JSON object."""

from __future__ import annotations

import json
import sys

from bench.common import rss_kb
from bench.fanout import fanout_once
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.session import make_engine


def main() -> None:
    from bench.common import NOW

    url, schema = sys.argv[1], sys.argv[2]
    kw = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = make_engine(url, **kw)
    app = build_app(load_settings(database_url=url), ManualClock(NOW), engine=engine, upgrade=False)
    idle, _ = rss_kb()
    _, queued = fanout_once(app)
    after, peak = rss_kb()
    engine.dispose()
    print(json.dumps({"idle_kb": idle, "after_kb": after, "peak_kb": peak, "queued": queued}))


if __name__ == "__main__":
    main()
