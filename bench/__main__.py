"""`python -m bench`: see bench/run.py; `python -m bench chaos`, `front`, `organizer`: see
bench/chaos.py, bench/front.py, bench/organizer.py."""

import sys

if sys.argv[1:2] == ["chaos"]:
    from bench.chaos import main as chaos

    sys.exit(chaos(sys.argv[2:]))

if sys.argv[1:2] == ["front"]:
    from bench.front import main as front

    sys.exit(front(sys.argv[2:]))

if sys.argv[1:2] == ["organizer"]:
    from bench.organizer import main as organizer

    sys.exit(organizer(sys.argv[2:]))

from bench.run import main

sys.exit(main())
