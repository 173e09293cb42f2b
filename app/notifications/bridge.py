"""What a Zalo or SMS bridge receives: each owner message as one self-contained JSON payload.

A payload carries everything the bridge needs to reach the person without calling back: the recipient's phone in
E.164, the rendered Vietnamese text (for SMS), the link (for a button), a template id and its parameters (Zalo ZNS
style: each parameter a string within its template's limit, cut with "…" when longer, links never cut) and the
message's own id, which the bridge quotes in its delivery reports. docs/bridge/payload.schema.json is the contract;
docs/bridge/README.md documents it with the signature check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

SCHEMA_ID = "https://footage-tracker.example/bridge/owner-message/v1"
ELLIPSIS = "…"


@dataclass(frozen=True)
class Param:
    name: str
    max_length: int
    is_link: bool = False


# The owners' messages as ZNS-style templates: template id, then its parameters in order with their limits.
_REQUEST_PARAMS = (
    Param("owner_name", 30),
    Param("case_number", 30),
    Param("unit_name", 60),
    Param("unit_phone", 20),
    Param("camera", 60),
    Param("window", 80),
    Param("deadline", 60),
    Param("link", 200, is_link=True),
    Param("link_expires_at", 60),
)
TEMPLATES: Mapping[str, tuple[str, tuple[Param, ...]]] = {
    "request_filed": ("footage_request_v1", _REQUEST_PARAMS),
    "link_reissued": ("footage_link_reissued_v1", _REQUEST_PARAMS),
    "request_reminder": ("footage_reminder_v1", _REQUEST_PARAMS),
    "footage_mismatch": ("footage_mismatch_v1", _REQUEST_PARAMS),
    "consent_receipt": (
        "consent_receipt_v1",
        (
            Param("owner_name", 30),
            Param("change", 30),
            Param("scope", 60),
            Param("validity", 80),
            Param("custody_seq", 20),
            Param("leaf_hash", 64),
            Param("link", 200, is_link=True),
        ),
    ),
}
EVENTS = tuple(TEMPLATES)


def fit(value: str, limit: int) -> str:
    """`value` on one line, cut to `limit` characters with an ellipsis when longer."""
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _first_camera(context: Mapping[str, Any]) -> Mapping[str, Any]:
    cameras = context.get("cameras") or [{}]
    first = cameras[0]
    return first if isinstance(first, Mapping) else {}


def _values(event: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Each template parameter's value, from the context the message was rendered with."""
    if event == "consent_receipt":
        return {
            "owner_name": context.get("owner_name"),
            "change": context.get("change_words"),
            "scope": context.get("scope_words"),
            "validity": context.get("validity_words"),
            "custody_seq": context.get("custody_seq"),
            "leaf_hash": context.get("leaf_hash"),
            "link": context.get("check_url"),
        }
    camera = _first_camera(context)
    return {
        "owner_name": context.get("owner_name"),
        "case_number": context.get("case_number"),
        "unit_name": context.get("unit_name"),
        "unit_phone": context.get("unit_phone"),
        "camera": context.get("camera_label") or camera.get("label"),
        "window": context.get("window") or camera.get("window"),
        "deadline": context.get("overwrite_deadline") or camera.get("overwrite_deadline"),
        "link": context.get("link_url") or camera.get("link_url"),
        "link_expires_at": context.get("link_expires_at"),
    }


def template_params(event: str, context: Mapping[str, Any]) -> dict[str, str]:
    """The template's parameters, each a string within its limit (empty when the message has no such value)."""
    _, params = TEMPLATES[event]
    values = _values(event, context)
    out: dict[str, str] = {}
    for param in params:
        raw = values.get(param.name)
        text = "" if raw is None else str(raw)
        if param.is_link:
            if len(text) > param.max_length:
                raise ValueError(f"the link is longer than the template allows ({param.max_length})")
            out[param.name] = text
        else:
            out[param.name] = fit(text, param.max_length)
    return out


def links_of(context: Mapping[str, Any]) -> list[dict[str, str | None]]:
    """Every link of the message with what it is for (a camera's request, or the receipt's check)."""
    found: list[dict[str, str | None]] = []
    for camera in context.get("cameras") or []:
        if isinstance(camera, Mapping) and camera.get("link_url"):
            found.append(
                {"url": camera["link_url"], "camera": camera.get("label"), "request_id": camera.get("request_id")}
            )
    if not found and context.get("link_url"):
        found.append({"url": context["link_url"], "camera": context.get("camera_label"), "request_id": None})
    if context.get("check_url"):
        found.append({"url": context["check_url"], "camera": None, "request_id": None})
    return found


def payload(
    *,
    message_id: UUID,
    event: str,
    locale: str,
    phone: str,
    name: str | None,
    subject: str,
    text: str,
    context: Mapping[str, Any],
    created_at: datetime,
) -> dict[str, Any]:
    """The JSON object POSTed to the bridge for one message (docs/bridge/payload.schema.json)."""
    template_id, _ = TEMPLATES[event]
    links = links_of(context)
    return {
        "schema": SCHEMA_ID,
        "message_id": str(message_id),
        "event": event,
        "created_at": created_at.isoformat(),
        "locale": locale,
        "recipient": {"phone": phone, "name": name},
        "subject": subject,
        "text": text,
        "link": links[0]["url"] if links else None,
        "links": links,
        "template": {"id": template_id, "params": template_params(event, context)},
    }
