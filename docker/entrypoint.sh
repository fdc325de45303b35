#!/bin/sh
# Migrate, then become the bot. `cohortbot db upgrade` is idempotent and, on PostgreSQL, holds
# an advisory lock while it runs, so replicas starting together migrate one at a time.
# Any other command (`doctor`, `console`, `db current`, `discord sync`) skips the migration.
set -eu

if [ "$#" -eq 0 ]; then
  set -- serve
fi

if [ "$1" = "serve" ]; then
  attempt=1
  # The database may still be starting (compose's depends_on covers most, not all, cases).
  until cohortbot db upgrade; do
    if [ "$attempt" -ge 10 ]; then
      echo "cohortbot: database upgrade failed after $attempt tries; giving up" >&2
      exit 1
    fi
    echo "cohortbot: database upgrade failed (try $attempt); retrying in 3 s" >&2
    attempt=$((attempt + 1))
    sleep 3
  done
fi

exec cohortbot "$@"
