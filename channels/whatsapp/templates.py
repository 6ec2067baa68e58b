"""The WhatsApp message templates the city had approved, and the messages built from them.

Templates are configuration (``templates.yml`` here, or ``CITYBOT_WHATSAPP_TEMPLATES``): their
names and languages are whatever Meta approved in the city's account, so they are checked when
the channel starts. A wrong file leaves the channel degraded (offers outside the window cannot go
out), never the gateway down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.i18n import LANGUAGES
from bot.offers.store import KINDS
from channels.whatsapp.errors import WhatsAppError

DEFAULT_FILE = Path(__file__).parent / "templates.yml"
NAME = re.compile(r"^[a-z0-9_]{1,512}$")
OFFER_BUTTONS = frozenset({"accept", "change", "human", "why"})
COMMON_VALUES = frozenset({"title", "respond_by"})
MAX_PARAMETER_CHARS = 1024


class TemplateConfigError(WhatsAppError):
    """The templates file is missing, malformed or names something we cannot fill in."""


@dataclass(frozen=True)
class Template:
    """One approved template: its name, what fills its body, and its quick-reply buttons."""

    name: str
    body: tuple[str, ...]
    buttons: tuple[str, ...]


@dataclass(frozen=True)
class Templates:
    """Every template the channel may send, and the language codes they were approved under."""

    languages: dict[str, str]
    offers: dict[str, Template]
    reply_waiting: Template

    def message(
        self, to: str, template: Template, language: str, values: dict[str, str], payloads: dict[str, str]
    ) -> dict[str, Any]:
        """The Cloud API message sending ``template`` in ``language``: body parameters from
        ``values`` (by name), each quick-reply button's payload from ``payloads`` (by name)."""
        components: list[dict[str, Any]] = []
        if template.body:
            parameters = [{"type": "text", "text": parameter_text(values[name])} for name in template.body]
            components.append({"type": "body", "parameters": parameters})
        for index, button in enumerate(template.buttons):
            components.append(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    "parameters": [{"type": "payload", "payload": payloads[button]}],
                }
            )
        return {
            "to": to,
            "type": "template",
            "template": {
                "name": template.name,
                "language": {"code": self.languages.get(language, self.languages["fi"])},
                "components": components,
            },
        }


def parameter_text(value: str) -> str:
    """A body parameter as Meta accepts it: no new lines or tabs, no runs of spaces, not empty."""
    text = " ".join(value.split())[:MAX_PARAMETER_CHARS]
    return text or "-"


def _template(raw: Any, where: str, values: frozenset[str], buttons: frozenset[str]) -> Template:
    if not isinstance(raw, dict):
        raise TemplateConfigError(f"{where}: expected name, body and buttons")
    name, body, pressed = raw.get("name"), raw.get("body") or [], raw.get("buttons") or []
    if not isinstance(name, str) or not NAME.match(name):
        raise TemplateConfigError(f"{where}: name must be lowercase letters, digits and _ (as in WhatsApp Manager)")
    if not isinstance(body, list) or any(v not in values for v in body):
        raise TemplateConfigError(f"{where}: body values must be some of {', '.join(sorted(values))}")
    if not isinstance(pressed, list) or any(b not in buttons for b in pressed) or len(pressed) > 10:
        raise TemplateConfigError(f"{where}: buttons must be at most 10 of {', '.join(sorted(buttons))}")
    return Template(name, tuple(body), tuple(pressed))


def load_templates(path: Path | None = None) -> Templates:
    """The templates file, checked: every offer kind and language has a template."""
    source = path or DEFAULT_FILE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise TemplateConfigError(f"{source}: cannot be read ({error.__class__.__name__})") from None
    except yaml.YAMLError as error:
        raise TemplateConfigError(f"{source}: not valid YAML ({error.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise TemplateConfigError(f"{source}: expected languages, offers and reply_waiting")
    languages = data.get("languages")
    if not isinstance(languages, dict) or any(not isinstance(languages.get(lang), str) for lang in LANGUAGES):
        raise TemplateConfigError(f"{source}: languages must give a code for each of {', '.join(LANGUAGES)}")
    offers = data.get("offers")
    if not isinstance(offers, dict):
        raise TemplateConfigError(f"{source}: offers must map each offer kind to a template")
    missing = [kind for kind in KINDS if kind not in offers]
    if missing:
        raise TemplateConfigError(f"{source}: no template for offer kind(s) {', '.join(missing)}")
    parsed = {
        kind: _template(
            offers[kind],
            f"{source}: offers.{kind}",
            frozenset(KINDS[kind]) | COMMON_VALUES | ({"start_season"} if "start_date" in KINDS[kind] else set()),
            OFFER_BUTTONS,
        )
        for kind in KINDS
    }
    waiting = _template(data.get("reply_waiting"), f"{source}: reply_waiting", frozenset(), frozenset({"show"}))
    return Templates({lang: str(languages[lang]) for lang in LANGUAGES}, parsed, waiting)
