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
from dataclasses import dataclass
from typing import Any

from ccbrowser.errors import UsageError
from ccbrowser.sync.push import PUSH_KEY, merged, metadata_problem, push_tags

SHOWN = 10  # changes listed before asking; the rest is counted


@dataclass
class PushPlan:
    updates: dict[str, dict[str, str]]  # id -> the metadata it will have (as far as the mirror knows)
    tags: dict[str, list[str]]  # id -> the tags it will carry
    before: dict[str, str | None]  # id -> the `tags` value it has now (None: no key)
    unchanged: int


def plan_push(conn: Any, ids: Sequence[str], *, add: Sequence[str], remove: Sequence[str]) -> PushPlan:
    """The metadata each completion will have; a UsageError (nothing changed) if any would be refused."""
    from ccbrowser.store.labels import labels_of, stored_metadata

    labels = labels_of(conn, ids)
    stored = stored_metadata(conn, ids)
    plan = PushPlan({}, {}, {}, 0)
    refused: list[tuple[str, str]] = []
    for cid in ids:
        current = {str(k): v if isinstance(v, str) else str(v) for k, v in stored.get(cid, {}).items()}
        had = set(labels[cid].tags) if cid in labels else set()
        tags = sorted((had | set(add)) - set(remove))
        plan.tags[cid] = tags
        wanted = merged(current, tags)
        if wanted == current:
            plan.unchanged += 1
            continue
        if problem := metadata_problem(wanted):
            refused.append((cid, problem))
            continue
        plan.updates[cid] = wanted
        plan.before[cid] = current.get(PUSH_KEY)
    if refused:
        cid, why = refused[0]
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise UsageError(f"cannot push: {cid} would have {why}{more}; nothing was changed")
    return plan


def _describe(plan: PushPlan, base_url: str) -> list[str]:
    from ccbrowser.safe import one_line

    lines = [f"will set metadata `{PUSH_KEY}` of {len(plan.updates):,} completion(s) on {base_url}:"]
    for cid, md in list(plan.updates.items())[:SHOWN]:
        old = plan.before[cid]
        new = md.get(PUSH_KEY)
        shown_old = "(none)" if old is None else repr(one_line(old, 80))
        shown_new = "(removed)" if new is None else repr(one_line(new, 80))
        lines.append(f"  {one_line(cid)}  {shown_old} -> {shown_new}")
    if len(plan.updates) > SHOWN:
        lines.append(f"  ... and {len(plan.updates) - SHOWN:,} more")
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

    if not plan.updates:
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
    result = push_tags(args.db, settings, {cid: plan.tags[cid] for cid in plan.updates}, limits=config.limits)
    for cid, why in list(result.failed.items())[:SHOWN]:
        sys.stderr.write(f"ccbrowser: {one_line(cid)}: {one_line(why, 200)}\n")
    sys.stderr.write(
        f"ccbrowser: pushed `{PUSH_KEY}` of {len(result.pushed):,} completion(s)"
        + (f"; {result.unchanged:,} already had them" if result.unchanged else "")
        + (f"; {len(result.failed):,} failed" if result.failed else "")
        + "\n"
    )
    return 1 if result.failed else 0
