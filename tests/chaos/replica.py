"""One chaos-test replica: `cohortbot serve`, started through the same CLI entry point, with
nothing patched: the fakes' addresses come in through the product's own settings
(SLACK_API_BASE_URL, DISCORD_API_BASE_URL, DISCORD_GATEWAY_URL).

    python -m tests.chaos.replica --port 3101
"""

from __future__ import annotations

import sys


def main() -> None:
    from cohortbot.cli import main as cli

    sys.argv = ["cohortbot", "serve", *sys.argv[1:]]
    cli()


if __name__ == "__main__":
    main()
