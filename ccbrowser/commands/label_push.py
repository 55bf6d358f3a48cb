"""`label --push`: what the server's metadata will become, the confirmation, the push.

The tags go to one metadata key, `tags` (see `sync.push`). The plan shown before asking is made
from the mirror's copy of each completion's metadata, and the whole batch is checked against the
server's limits there before anything changes, locally or remotely; the push itself merges with
what the server holds at that moment.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ccbrowser.errors import UsageError
from ccbrowser.sync.push import PUSH_KEY, PushPlan, plan_from_store, push_tags
from ccbrowser.words import plural

SHOWN = 10  # changes listed before asking; the rest is counted


def plan_push(conn: Any, ids: Sequence[str], *, add: Sequence[str], remove: Sequence[str]) -> PushPlan:
    """The metadata each completion will have; a UsageError (nothing changed) if any would be refused."""
    plan = plan_from_store(conn, ids, add=add, remove=remove)
    if refused := plan.refused:
        first = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise UsageError(f"cannot push: {first.id} would have {first.refused}{more}; nothing was changed")
    return plan


def _describe(plan: PushPlan, base_url: str) -> list[str]:
    from ccbrowser.safe import one_line

    changes = plan.sendable
    lines = [f"will set metadata `{PUSH_KEY}` of {plural(len(changes), 'completion')} on {base_url}:"]
    for change in changes[:SHOWN]:
        old, new = change.before, change.metadata.get(PUSH_KEY)
        shown_old = "(none)" if old is None else repr(one_line(old, 80))
        shown_new = "(removed)" if new is None else repr(one_line(new, 80))
        lines.append(f"  {one_line(change.id)}  {shown_old} -> {shown_new}")
    if len(changes) > SHOWN:
        lines.append(f"  ... and {len(changes) - SHOWN:,} more")
    return lines


def _confirmed(args: argparse.Namespace) -> bool:
    if args.yes:
        return True
    sys.stderr.write("push? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def push(args: argparse.Namespace, plan: PushPlan) -> int:
    from ccbrowser.config import load_config, resolve
    from ccbrowser.safe import one_line

    if not plan.sendable:
        sys.stderr.write(f"ccbrowser: the server's `{PUSH_KEY}` already match; nothing to push\n")
        return 0
    config = args.config or load_config()
    settings = resolve(args.profile, config=config)
    if not settings.has_key and settings.flavor != "llama-stack":
        raise UsageError(f"no API key: set {settings.api_key_env} to push (profile {settings.profile!r})")
    for line in _describe(plan, settings.base_url):
        sys.stderr.write(line + "\n")
    if not _confirmed(args):
        sys.stderr.write("ccbrowser: not pushed (the local labels are kept)\n")
        return 1
    result = push_tags(args.db, settings, plan.tags(), limits=config.limits)
    for cid, why in list(result.failed.items())[:SHOWN]:
        sys.stderr.write(f"ccbrowser: {one_line(cid)}: {one_line(why, 200)}\n")
    sys.stderr.write(
        f"ccbrowser: pushed `{PUSH_KEY}` of {plural(len(result.pushed), 'completion')}"
        + (f"; {result.unchanged:,} already had them" if result.unchanged else "")
        + (f"; {len(result.failed):,} failed" if result.failed else "")
        + "\n"
    )
    return 1 if result.failed else 0
