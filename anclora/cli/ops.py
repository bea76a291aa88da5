"""`anclora ops list|run`: the bundled playbooks from the command line, through the same service as the API."""

from __future__ import annotations

import json
import sys

from ..errors import AncloraError


def _parse_extravars(playbook, pairs: list[str]) -> dict:
    extravars = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise AncloraError(f"-e expects NAME=VALUE, got {pair!r}")
        extravars[name] = playbook.coerce(name, value)
    return extravars


def _print_event(event: dict) -> None:
    kind = event.get("event", "")
    if kind == "playbook_on_task_start":
        print(f"TASK {event.get('task', '')}", flush=True)
    elif kind.startswith("runner_on_") and kind != "runner_on_start" and event.get("host"):
        state = kind.removeprefix("runner_on_")
        if state == "ok" and event.get("changed"):
            state = "changed"
        print(f"  {state}: {event['host']}" + (f"  {event['msg']}" if event.get("msg") else ""), flush=True)


def _list(args) -> int:
    """The playbooks and their variables; reads only the Ansible project (no database needed)."""
    from ..ops import playbooks
    from . import load_settings

    catalog = playbooks.load_catalog(playbooks.project_dir(load_settings(args)))
    for playbook in (entry.as_json() for entry in catalog.values()):
        print(f"{playbook['name']:12} {playbook['summary']}")
        for name, schema in playbook["variables"].items():
            mark = " (required)" if name in playbook["required"] else ""
            print(f"    -e {name}=<{schema.get('type', 'value')}>{mark}  {schema.get('description', '')}")
    return 0


async def _run(ctx, args) -> int:
    from ..ops import playbooks
    from ..ops.service import ops_service

    service = ops_service(ctx)
    try:
        playbook = playbooks.find(service.project_dir, args.playbook)
        run = await service.start(args.playbook, _parse_extravars(playbook, args.extravars), check=args.check,
                                  limit=args.limit, tags=args.tags, skip_tags=args.skip_tags,
                                  inventory=args.inventory)
    except AncloraError as error:
        print(f"anclora ops: {error.message}", file=sys.stderr)
        if error.details:
            print(json.dumps(error.details, indent=2), file=sys.stderr)
        return 2
    async for event in service.events(run["id"]):
        _print_event(event)
    run = await service.wait(run["id"])
    print(json.dumps({key: run[key] for key in ("id", "status", "rc", "stats", "message")}))
    return 0 if run["status"] == "successful" else 1


def add_commands(subparsers) -> None:
    """`anclora ops list` and `anclora ops run PLAYBOOK [-e k=v] [--check] [--inventory] [--limit]`."""
    from . import with_context

    ops = subparsers.add_parser("ops", help="run the bundled operations playbooks (ansible-runner)")
    sub = ops.add_subparsers(dest="ops_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="the playbooks and their variables").set_defaults(func=_list)
    run = sub.add_parser("run", help="run one playbook and stream its progress")
    run.add_argument("playbook", help="provision, update, rollback, backup, restore or maintenance")
    run.add_argument("-e", "--extra-var", dest="extravars", action="append", default=[], metavar="NAME=VALUE",
                     help="a playbook variable (repeatable); see `anclora ops list`")
    run.add_argument("--check", action="store_true", help="dry run: report what would change")
    run.add_argument("--inventory", metavar="FILE", help="Ansible inventory (default: the ops_inventory setting)")
    run.add_argument("--limit", metavar="HOSTS", help="only these hosts or groups")
    run.add_argument("--tags", help="only tasks with these tags (comma separated)")
    run.add_argument("--skip-tags", help="skip tasks with these tags (comma separated)")
    run.set_defaults(func=with_context(_run))
