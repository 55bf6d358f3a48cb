"""A chat made with the official `openai` SDK through the emulator, synced: the store threads it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
from test_sync import KEY, NOW, local, settings_for, sync

from ccbrowser.emulator.app import EmulatorOptions
from ccbrowser.emulator.server import run_in_thread
from ccbrowser.store import open_db
from ccbrowser.threads import Assignment


def system_prompt(step: int) -> str:
    when = datetime.fromtimestamp(NOW + step * 3_700, UTC)
    return f"You are a helpful assistant. The current time is {when:%Y-%m-%d %H:%M:%S} UTC."


def test_sdk_chat_each_call_sending_the_history_is_one_thread(db_path: Path) -> None:
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "refund_order",
                "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            },
        }
    ]
    with run_in_thread(EmulatorOptions(count=30, seed=5, now=NOW, api_key=KEY)) as emu:
        client = openai.OpenAI(base_url=emu.base_url, api_key=KEY)
        messages: list[Any] = [{"role": "system", "content": system_prompt(0)}]
        made = []
        questions = ["Hello, I need help with an order", "Refund A-8812 please", "Thanks! Anything else?"]
        for step, question in enumerate(questions):
            messages[0] = {"role": "system", "content": system_prompt(step)}  # the time changes every call
            messages.append({"role": "user", "content": question})
            reply = client.chat.completions.create(
                model="gpt-4.1", messages=messages, store=True, tools=tools
            )
            made.append(reply.id)
            message = reply.choices[0].message
            messages.append(message)  # the SDK object itself, as its docs do
            for call in message.tool_calls or ():
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": '{"status": "refunded"}'}
                )
                reply = client.chat.completions.create(
                    model="gpt-4.1", messages=messages, store=True, tools=tools
                )
                made.append(reply.id)
                messages.append(reply.choices[0].message)
        other = client.chat.completions.create(
            model="gpt-4.1",
            messages=[{"role": "user", "content": "Hello, I need help with an order"}],
            store=True,
        )
        sync(db_path, settings_for(emu))
    assert set(made) <= set(local(db_path))
    conn = open_db(db_path)
    sql = "SELECT id, thread, parent, parent_choice, turn, branch, continues FROM thread_nodes"
    rows = {r[0]: Assignment(*r) for r in conn.execute(sql)}
    (one,) = conn.execute("SELECT turns, completions FROM threads WHERE thread = ?", (made[0],)).fetchall()
    conn.close()
    got = {cid: rows[cid] for cid in [*made, other.id]}
    assert {got[cid].thread for cid in made} == {made[0]}  # the store threaded the sync: one thread
    assert [got[cid].parent for cid in made] == [None, *made[:-1]]
    assert got[other.id].thread == other.id and got[other.id].parent is None
    turns = [got[cid].turn for cid in made]
    assert turns[0] == 0 and turns[-1] == len(questions) - 1  # tool steps stayed in their turns
    assert len(made) > len(questions)  # the emulator did call the tool
    assert one == (len(questions), len(made))
