"""Stored completions and messages in the shape each flavour's server holds and accepts."""

from __future__ import annotations

from ccbrowser.emulator.corpus import JSON


def shape_for_flavor(flavor: str, comp: JSON) -> JSON:
    """A stored completion as this flavour's server holds it (docs/architecture.md section 6).

    Llama Stack keeps neither ``metadata`` nor ``usage`` (both null). OpenAI-compatible routers
    type fields loosely: ``logprobs`` ``"unknown"``, ``annotations`` and ``audio`` null instead of
    empty or absent. Azure's quirks depend on the route, so they are applied per response.
    """
    if flavor == "llama-stack":
        return {**comp, "metadata": None, "usage": None}
    if flavor == "router":
        choices = comp.get("choices")
        if not isinstance(choices, list):
            return comp
        loose = []
        for c in choices:
            if not isinstance(c, dict):
                loose.append(c)
                continue
            c = {**c, "logprobs": "unknown" if c.get("logprobs") is None else c["logprobs"]}
            msg = c.get("message")
            if isinstance(msg, dict):
                c["message"] = {
                    **msg,
                    "annotations": msg.get("annotations") or None,
                    "audio": msg.get("audio") or None,
                }
            loose.append(c)
        return {**comp, "choices": loose}
    return comp


def request_form(m: JSON) -> JSON:
    """Normalise an input message given in ``/messages`` item form back to request form."""
    out = {k: v for k, v in m.items() if k not in ("id", "content_parts", "refusal") and v is not None}
    if m.get("content_parts"):
        out["content"] = m["content_parts"]
    out.setdefault("role", "user")
    out.setdefault("content", m.get("content"))
    return out
