"""Speed-ups for Rasa 3.6 that keep its behaviour; installed in the Rasa process only.

1. Action responses are checked with a precompiled validator (below).
2. An action call carries the latest ``ACTION_EVENTS`` events, not the whole conversation, and
   the domain's dict is built once: a turn's cost no longer grows with the conversation's length
   on the action side (issue 13).

On 1:

Rasa checks every action server response against a JSON schema with ``jsonschema.validate``,
which first validates the *schema itself* against the draft 2020-12 meta-schema and then builds a
new validator: about 60 ms of CPU per custom action on this machine, two custom actions per turn
(slot validation, then the answer). Profiling ``rasa run`` under load (py-spy) put 60 % of its CPU
there. Rasa's schema is a constant, so we check it once and reuse one validator (under 1 ms per
response), with the same errors: the best match, with Rasa's explanation appended.
"""

from __future__ import annotations

import itertools
import logging
from functools import lru_cache
from typing import Any, Callable, Dict

import rasa
import rasa.shared.utils.common
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.core.slots import Slot

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    error = best_match(_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from "
            f"the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


# Events sent to the action server with each call. Our actions read the latest message and the
# slots, never the history (a test checks no action reads ``tracker.events``); Rasa sends every
# event of the conversation, serialised anew for each of the two calls of a turn: at turn 100,
# some 800 events, most of a turn's time (bench/turn_growth.py).
ACTION_EVENTS = 20


def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> Dict[str, Any]:
    """Rasa's request to the action server, with the latest ACTION_EVENTS events only."""
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    recent = list(itertools.islice(reversed(tracker.events), ACTION_EVENTS))
    state["events"] = [event.as_dict() for event in reversed(recent)]
    result: Dict[str, Any] = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": state,
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        result["domain"] = _domain_dict(domain)
    return result


RASA_ACTION_CALL_FORMAT = RemoteAction._action_call_format  # Rasa's own, for the tests to compare
_domains: Dict[int, tuple[Any, Dict[str, Any]]] = {}


def _domain_dict(domain: Any) -> Dict[str, Any]:
    """``domain.as_dict()``, built once per loaded domain (17 kB rebuilt on every call before)."""
    cached = _domains.get(id(domain))
    if cached is None or cached[0] is not domain:
        cached = (domain, domain.as_dict())
        _domains.clear()  # one model is loaded at a time
        _domains[id(domain)] = cached
    return cached[1]


# 3. An event's or a slot's class is found by its type name once, not by walking every subclass
# of Event (and checking each with ``inspect.isabstract``) for every event of every tracker read:
# a py-spy profile at saturation put 21 % of Rasa's CPU there (docs/performance.md).
RASA_EVENT_RESOLVE = Event.resolve_by_type
RASA_SLOT_RESOLVE = Slot.resolve_by_type


def _cached_resolver(base: type, original: Callable[..., Any]) -> Callable[..., Any]:
    """``base.resolve_by_type`` with the classes looked up in a dict by type name, built from
    Rasa's own list (the first class of a name wins, as in Rasa's loop) and rebuilt once when a
    name is missing (a subclass imported later); other cases go to Rasa's own."""
    by_name: Dict[str, Any] = {}

    def build() -> None:
        by_name.clear()
        for cls in rasa.shared.utils.common.all_subclasses(base):
            by_name.setdefault(cls.type_name, cls)

    def resolve(type_name: str, *args: Any, **kwargs: Any) -> Any:
        if type_name not in by_name:
            build()
        cls = by_name.get(type_name)
        return cls if cls is not None else original(type_name, *args, **kwargs)

    resolve._citybot_cached = True  # type: ignore[attr-defined]
    return staticmethod(resolve)


def install() -> None:
    """Replace Rasa's per-call schema check of action responses by a precompiled one, send
    the action server only the recent events, and find event and slot classes by a dict."""
    if RemoteAction._validate_action_result is not _validate_action_result:
        RemoteAction._validate_action_result = _validate_action_result
        logger.info("action responses are validated with a precompiled JSON schema validator")
    if RemoteAction._action_call_format is not _action_call_format:
        RemoteAction._action_call_format = _action_call_format
        logger.info("action calls carry the latest %d events", ACTION_EVENTS)
    if not getattr(Event.resolve_by_type, "_citybot_cached", False):
        Event.resolve_by_type = _cached_resolver(Event, RASA_EVENT_RESOLVE)
        Slot.resolve_by_type = _cached_resolver(Slot, RASA_SLOT_RESOLVE)
        logger.info("event and slot classes are found by their type names in a dict")


__all__ = ["install"]
