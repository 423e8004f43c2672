#!/usr/bin/env python3
"""Checks the deployment files against the code, which a compose validator cannot.

paylater refuses an unknown PAYLATER_ variable at start, so a misspelt or not-yet-existing
variable in a compose file would stop every instance. Usage:

    check-deploy.py RESOLVED_COMPOSE_YAML... --docs docs/deploy.md

Each RESOLVED_COMPOSE_YAML is the output of `docker-compose config` (anchors merged,
variables interpolated). For them, every variable set on a paylater service (one whose
image is paylater's) must be one src/config.rs reads, and every service another waits
for as `service_healthy` must have a health check. In the docs, every PAYLATER_ variable
named must be one the code reads, or one listed in PENDING with the change that adds it.
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# Variables the code does not read but documents or the runtime does.
NOT_SETTINGS = {"PAYLATER_CONFIG", "PAYLATER_BROWSER_TESTS", "RUST_LOG"}

# Variables the docs describe ahead of the change that adds them, with that change.
PENDING: dict[str, str] = {}

PAYLATER_IMAGE = "paylater:local"


def known_variables():
    """The variables of ENV_KEYS in src/config.rs."""
    source = (ROOT / "src" / "config.rs").read_text()
    table = re.search(r"pub const ENV_KEYS[^=]*=\s*&\[(.*?)\n\];", source, re.S)
    if not table:
        sys.exit("check-deploy: ENV_KEYS not found in src/config.rs")
    names = set(re.findall(r'\(\s*"([A-Z_]+)",', table.group(1)))
    if len(names) < 30:
        sys.exit(f"check-deploy: only {len(names)} variables read from ENV_KEYS")
    return names | NOT_SETTINGS


def check_compose(path, known):
    problems = []
    config = yaml.safe_load(Path(path).read_text())
    services = config.get("services") or {}
    if not any(s.get("image") == PAYLATER_IMAGE for s in services.values()):
        problems.append(f"{path}: no service runs the {PAYLATER_IMAGE} image")
    for name, service in services.items():
        if service.get("image") == PAYLATER_IMAGE:
            for variable in service.get("environment") or {}:
                if variable not in known:
                    problems.append(f"{path}: {name} sets {variable}, which paylater does not read")
        for needed, how in (service.get("depends_on") or {}).items():
            if how.get("condition") == "service_healthy":
                check = (services.get(needed) or {}).get("healthcheck") or {}
                if not check.get("test") or check.get("test") == ["NONE"]:
                    problems.append(f"{path}: {name} waits for {needed} to be healthy, which has no health check")
    return problems


def check_docs(path, known):
    named = set(re.findall(r"\bPAYLATER_[A-Z0-9_]*[A-Z0-9]\b", Path(path).read_text()))
    return [
        f"{path}: names {variable}, which paylater does not read"
        for variable in sorted(named - known - PENDING.keys())
    ]


def main(args):
    if "--docs" not in args or args.index("--docs") == len(args) - 1:
        sys.exit(__doc__)
    at = args.index("--docs")
    composes, docs = args[:at] + args[at + 2 :], args[at + 1]
    known = known_variables()
    problems = [p for path in composes for p in check_compose(path, known)]
    problems += check_docs(docs, known)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"deployment files: {len(composes)} compose configurations and {docs} name only variables paylater reads")


if __name__ == "__main__":
    main(sys.argv[1:])
