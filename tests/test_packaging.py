"""What the Docker image does, without Docker: build the wheel, install it into a fresh venv
with pip as the Dockerfile does, next to exactly the distributions its requirements bring in,
and run it from a directory that has no checkout in sight, so the content banks and
migrations must come from inside the wheel. Also checks that the deployment files agree with
the settings and with each other."""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic_settings import BaseSettings

from adapters.slack.settings import SlackSettings
from bot.config import Settings, _env_name

ROOT = Path(__file__).resolve().parent.parent


# Where the new venv finds our package and a dependency; and that a test tool, which no
# requirement of the wheel brings in, is not there at all.
_WHERE = (
    "import importlib.util, bot, sqlalchemy; "
    "print(bot.__file__, sqlalchemy.__file__, importlib.util.find_spec('pytest'))"
)


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]


def _requirements(dist: md.Distribution, extras: frozenset[str]) -> list[Requirement]:
    """The requirements of `dist` that apply here when it is installed with `extras`."""
    out = []
    for line in dist.requires or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            out.append(req)
    return out


def _closure(root: md.Distribution, where: list[str]) -> list[md.Distribution]:
    """Every distribution that installing `root` brings in, found in the `where` directories:
    what `pip install <wheel>` would install, the versions this environment resolved. Fails
    on a requirement that is missing here or whose range the installed version misses."""
    found: dict[str, tuple[md.Distribution, frozenset[str]]] = {}
    todo = [(root, frozenset[str]())]
    while todo:
        dist, extras = todo.pop()
        for req in _requirements(dist, extras):
            name = canonicalize_name(req.name)
            # The first found wins, as on import.
            dep = next(iter(md.distributions(name=name, path=where)), None)
            assert dep is not None, f"{dist.name} requires {req}: not installed here"
            assert req.specifier.contains(dep.version, prereleases=True), (
                f"{dist.name} requires {req}, and {dep.version} is installed"
            )
            known = found.get(name, (dep, frozenset[str]()))[1]
            if name not in found or not set(req.extras) <= known:
                found[name] = (dep, known | set(req.extras))
                todo.append((dep, frozenset(req.extras)))
    return [dist for dist, _ in found.values()]


def _link_into(site: Path, dist: md.Distribution) -> None:
    """Put `dist` into `site` as installing it would, by linking its top-level entries
    (packages, modules, .dist-info) from where it is installed. Scripts it puts outside its
    site-packages (../../bin) are left out: the tests run none of them."""
    assert dist.files is not None, f"{dist.name} has no RECORD: cannot tell its files"
    tops = {f.parts[0] for f in dist.files if not f.is_absolute()} - {"..", "__pycache__"}
    for top in tops:
        source = Path(str(dist.locate_file(top)))
        if source.exists() and not (site / top).exists():
            (site / top).symlink_to(source)


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = dist.glob("cohortbot-*.whl")

    # A fresh venv with no packages at all; not even pip, whose copy here installs into it
    # (`--python`), sparing the venv's own of 5 CPU-seconds.
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    assert made.returncode == 0, made.stderr
    python = str(venv / "bin" / "python")
    # The Dockerfile's step for our wheel, by pip; without compiling it to bytecode first
    # (nothing here checks that).
    pip = [sys.executable, "-m", "pip", "--python", python]
    installed = _run([*pip, "install", "-q", "--no-deps", "--no-compile", str(wheel)], timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # And its dependencies: the wheel's declared requirements followed to the end, each
    # linked from this environment rather than unpacked again by pip (which cost nearly all of
    # this test's time). Only those: the checkout's own install and the test tools stay out,
    # so a missing requirement fails below as it would in the image. That pip resolves the
    # declared ranges is shown where this environment is made (`pip install -e '.[test]'`).
    scheme = {"base": str(venv), "platbase": str(venv)}
    site = Path(sysconfig.get_path("purelib", vars=scheme))
    here = list(dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib")))
    [ours] = list(md.distributions(name="cohortbot", path=[str(site)]))
    for dep in _closure(ours, here):
        _link_into(site, dep)
    # pip's own view of the new venv: every requirement there, with its range, met.
    checked = _run([*pip, "check"], timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COHORTBOT_", "SLACK_", "DISCORD_", "PYTHON"))
    }
    env["COHORTBOT_DATABASE_URL"] = f"sqlite:///{elsewhere / 'bot.db'}"
    exe = str(venv / "bin" / "cohortbot")

    where = _run(
        [python, "-c", _WHERE],
        cwd=elsewhere,
        env=env,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    ours_at, deps_at, test_tools = where.stdout.split()
    assert ours_at.startswith(str(site)), "the installed package, not the checkout, must run"
    assert deps_at.startswith(str(site)), "the dependencies come from the venv's site-packages"
    assert test_tools == "None", "only the wheel's requirements are in the venv"

    upgraded = _run([exe, "db", "upgrade"], cwd=elsewhere, env=env, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Database at revision" in upgraded.stdout
    again = _run([exe, "db", "upgrade"], cwd=elsewhere, env=env, timeout=120)
    assert again.returncode == 0 and again.stdout == upgraded.stdout  # idempotent

    console = _run(
        [exe, "console"],
        input="/cohortbot\n/drill\n",
        cwd=elsewhere,
        env=env,
        timeout=120,
    )
    assert console.returncode == 0, console.stderr
    assert "/settings" in console.stdout  # the help lists the commands
    assert "[only alice sees this, in #cohort]" in console.stdout
    # The drill came from the content banks packaged in the wheel.
    assert "A new drill:" in console.stdout, console.stdout
    assert re.search(r"^  \[1\] Answer$", console.stdout, flags=re.M), console.stdout
    assert "Traceback" not in console.stderr

    doctor = _run([exe, "doctor"], cwd=elsewhere, env=env, timeout=120)
    assert doctor.returncode == 0, doctor.stdout
    assert "[ok  ] migrations" in doctor.stdout
    assert "[ok  ] content" in doctor.stdout


def _example() -> dict[str, tuple[str, bool]]:
    """NAME -> (value, set?) for each `NAME=value` or `#NAME=value` line of .env.example."""
    out: dict[str, tuple[str, bool]] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]+)=(.*)", line)
        if m:
            assert m[2] not in out, f"{m[2]} listed twice"
            out[m[2]] = (m[3], not m[1])
    return out


# The core's settings and the adapters' own blocks that .env.example lists.
BLOCKS: tuple[type[BaseSettings], ...] = (Settings, SlackSettings)


def test_env_example_lists_every_setting_with_its_default() -> None:
    example = _example()
    names = {_env_name(n, b): (n, b) for b in BLOCKS for n in b.model_fields}
    assert set(example) == set(names), "the .env.example and the settings blocks disagree"
    for env_name, (field_name, block) in names.items():
        default = block.model_fields[field_name].default
        value, is_set = example[env_name]
        if default is None:
            # An empty value would still count as set (SLACK_BOT_TOKEN= enables Slack).
            assert not is_set, f"{env_name} has no default: leave it commented out"
        else:
            assert is_set and value == str(default), env_name
    text = (ROOT / ".env.example").read_text().splitlines()
    for i, line in enumerate(text):
        if re.fullmatch(r"#?[A-Z][A-Z0-9_]+=.*", line):
            assert text[i - 1].startswith("#"), f"{line}: say what it does on the line above"


def test_env_example_loads_as_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for block in BLOCKS:
        for name in block.model_fields:
            monkeypatch.delenv(_env_name(name, block), raising=False)
            monkeypatch.delenv(f"COHORTBOT_{_env_name(name, block)}", raising=False)
            monkeypatch.delenv(f"COHORTBOT_{name.upper()}", raising=False)
        loaded = block(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
        assert loaded == block(_env_file=None)  # type: ignore[call-arg]


def test_compose_runs_postgres_and_two_replicas_of_the_image() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:15")
    assert "healthcheck" in services["db"]
    assert any("pgdata" in v for v in services["db"]["volumes"])
    bots = [s for s in services.values() if s.get("build") == "."]
    assert len(bots) == 2
    for bot in bots:
        assert bot["environment"]["COHORTBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert bot["depends_on"]["db"]["condition"] == "service_healthy"


def test_dockerfile_shape() -> None:
    docker = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", docker, flags=re.M)
    assert stages == ["python:3.11-slim", "python:3.11-slim"]
    assert "pip wheel" in docker and "pip install --no-cache-dir /tmp/*.whl" in docker
    assert re.search(r"^USER cohortbot$", docker, flags=re.M)
    [health] = re.findall(r"^HEALTHCHECK .*\n.*$", docker, flags=re.M)
    assert "/healthz" in health and "urllib" in health and "curl" not in health
    # Every path the build copies exists, and the wheel config ships content and migrations.
    copied = re.findall(r"^COPY (?!--)(\S+)", docker, flags=re.M)
    for src in copied:
        assert (ROOT / src).exists(), src
    # The builder copies every package and every folder the wheel takes: a missing one builds
    # a wheel without it, silently (the image's `cohortbot` command had no package to run).
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    wheel = wheel["targets"]["wheel"]
    for src in [*wheel["packages"], *wheel["force-include"]]:
        assert src in copied, f"the Dockerfile's build does not copy {src}"
    entry = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "cohortbot db upgrade" in entry and 'exec cohortbot "$@"' in entry
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)
    check = _run(["sh", "-n", str(ROOT / "docker" / "entrypoint.sh")], timeout=30)
    assert check.returncode == 0, check.stderr
