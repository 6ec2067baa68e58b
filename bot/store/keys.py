"""The Redis key schema: every key family the service uses, each built here and nowhere else.

Each family has exactly one owner, the module that reads and writes it; every other module asks
that owner (``tests/test_structure.py`` checks that each builder below is used by one module
only, and that no other module spells a key). All keys start with ``citybot:``; Rasa's tracker
and lock stores use the same prefix (``endpoints.yml``).

Families (type) → owner:

- ``conv:<conversation>`` (hash: channel, language, first/last seen, stopped, open offer) and
  ``seen:<conversation>:<message id>`` (de-duplication, a day) → ``bot.conversation.records``
- ``log:<conversation>`` (stream: the transcript) → ``bot.conversation.transcripts``
- ``outbox:<conversation>`` (list: replies kept while no page is open) and
  ``open:<conversation>`` (counter: open web chat pages) → ``bot.conversation.outbox``
- ``question:<conversation>`` (hash, minutes: the question awaiting an answer) →
  ``bot.conversation.questions``
- ``rate:<conversation>`` (sorted set, a minute: recent messages) → ``bot.conversation.limits``
- ``tracker:<conversation>`` (Rasa's tracker, written by Rasa) → ``bot.conversation.trackers``
- ``case:<conversation>``, ``queue:<queue>``, ``handoff:*`` (cases, queues, events, ratings,
  handling times) → ``bot.handoff.cases``
- ``stats:<day>`` and ``stats:<day>:*`` (the dashboard's figures) → ``bot.conversation.stats``
- ``handoff:closed:<id>``, ``handoff:closed-by:<agent>``, ``handoff:closed-of:<conversation>``
  (ended cases) → ``bot.handoff.history``
- ``agent:<name>``, ``agents``, ``agents:online``, ``session:<token>``, ``sessions:<name>``,
  ``signin:throttle:*`` → ``bot.handoff.agents``
- ``offer:<id>``, ``offer:<id>:history``, ``citizen:<id>:offers`` → ``bot.offers.store``
- ``consent:<citizen>``, ``consent:<citizen>:history`` → ``bot.privacy.consent``
- ``link:<conversation>``, ``links:<citizen>``, ``linkcode:<code>`` → ``bot.privacy.identity``
- ``callback:<delivery>`` → ``bot.systems.callbacks``
- ``wcsession:<session id>`` (hash: the resume secret's SHA-256) → ``bot.privacy.sessions``
- ``jobs:due``, ``jobs:leased`` → ``bot.store.scheduler``
- ``address:<conversation>`` (a channel address that is personal data: a WhatsApp number) →
  ``bot.privacy.addresses``
- ``tgbutton:<key>`` (Telegram button payloads) → ``channels.telegram.channel``
- ``wa:window:<conversation>`` (the 24-hour window), ``wa:sent:<message id>`` (our messages'
  offers, for delivery statuses), ``wa:nudged:<conversation>``, ``wa:button:<key>``,
  ``wa:retry:<id>`` → ``channels.whatsapp.channel``
- ``socketio`` (pub/sub of the web chat's socket.io servers) → ``channels.webchat.server``
"""

from __future__ import annotations

PREFIX = "citybot:"

# -- conversations ------------------------------------------------------------------------------


def conversation(conversation_id: str) -> str:
    """The conversation record (hash)."""
    return f"{PREFIX}conv:{conversation_id}"


def seen(conversation_id: str, message_id: str) -> str:
    """Set once per delivered message (message ids are unique only within a conversation)."""
    return f"{PREFIX}seen:{conversation_id}:{message_id}"


def vault(conversation_id: str) -> str:
    """The values masked in the conversation's messages (hash: message id → JSON list)."""
    return f"{PREFIX}vault:{conversation_id}"


def transcript(conversation_id: str) -> str:
    """The conversation's transcript (stream)."""
    return f"{PREFIX}log:{conversation_id}"


TRANSCRIPT_PREFIX = transcript("")  # to tell a transcript stream's conversation from its name


def outbox(conversation_id: str) -> str:
    """Replies kept for a citizen with no page open (list)."""
    return f"{PREFIX}outbox:{conversation_id}"


def open_pages(conversation_id: str) -> str:
    """How many pages of a web chat conversation are open (counter)."""
    return f"{PREFIX}open:{conversation_id}"


def question(conversation_id: str) -> str:
    """The question the bot asked and awaits an answer to (hash with an expiry)."""
    return f"{PREFIX}question:{conversation_id}"


def rate(conversation_id: str) -> str:
    """The times of a conversation's recent messages (sorted set, a minute): its rate limit."""
    return f"{PREFIX}rate:{conversation_id}"


def tracker(conversation_id: str) -> str:
    """Rasa's tracker of the conversation (Rasa's RedisTrackerStore, key_prefix ``citybot``)."""
    return f"{PREFIX}tracker:{conversation_id}"


# -- handoff -------------------------------------------------------------------------------------


def case(conversation_id: str) -> str:
    """Who answers a conversation now (hash)."""
    return f"{PREFIX}case:{conversation_id}"


def queue(name: str) -> str:
    """A handoff queue (sorted set by time queued)."""
    return f"{PREFIX}queue:{name}"


def queue_pattern() -> str:
    """Every handoff queue (for SCAN/KEYS in maintenance and tests)."""
    return f"{PREFIX}queue:*"


def case_pattern() -> str:
    """Every handoff case."""
    return f"{PREFIX}case:*"


HANDOFF_EVENTS = f"{PREFIX}handoff:events"  # stream of case changes, for the consoles
HANDOFF_ASSIGNED = f"{PREFIX}handoff:assigned"  # set of conversations held by an agent
HANDOFF_TYPING = f"{PREFIX}handoff:typing"  # pub/sub: a citizen types to an agent
HANDOFF_RATINGS = f"{PREFIX}handoff:ratings"  # stream of 1-5 ratings


def stats_day(day: str) -> str:
    """A city day's counters for the dashboard (hash, bot/conversation/stats.py)."""
    return f"{PREFIX}stats:{day}"


def stats_seen(day: str, what: str) -> str:
    """The conversations counted for ``what`` on a day (set, so each counts once)."""
    return f"{PREFIX}stats:{day}:seen:{what}"


def stats_waits(day: str, language: str, channel: str) -> str:
    """A day's queue waits of one language and channel (list of seconds)."""
    return f"{PREFIX}stats:{day}:waits:{language}:{channel}"


def stats_unanswered(day: str, language: str) -> str:
    """A day's messages the bot did not understand, masked, with counts (sorted set)."""
    return f"{PREFIX}stats:{day}:unanswered:{language}"


def closed_case(record_id: str) -> str:
    """An ended case (hash, bot/handoff/history.py)."""
    return f"{PREFIX}handoff:closed:{record_id}"


def closed_by(agent_username: str) -> str:
    """The ended cases an agent held (sorted set by the time each ended)."""
    return f"{PREFIX}handoff:closed-by:{agent_username}"


def closed_of(conversation_id: str) -> str:
    """A conversation's ended cases (sorted set by the time each ended)."""
    return f"{PREFIX}handoff:closed-of:{conversation_id}"


def handled_times(queue_name: str) -> str:
    """The latest handling times of a queue (list), for wait estimates."""
    return f"{PREFIX}handoff:handled:{queue_name}"


# -- agents --------------------------------------------------------------------------------------

AGENTS = f"{PREFIX}agents"  # set of usernames
AGENTS_ONLINE = f"{PREFIX}agents:online"  # sorted set: username → last console heartbeat


def agent(username: str) -> str:
    """An agent's account (hash)."""
    return f"{PREFIX}agent:{username}"


def signin_failures_by_user(username: str) -> str:
    """Sign-in throttle of a username (hash: failures, next_at; with an expiry)."""
    return f"{PREFIX}signin:throttle:user:{username}"


def signin_failures_by_address(address: str) -> str:
    """Sign-in throttle of a client address (hash: failures, next_at; with an expiry)."""
    return f"{PREFIX}signin:throttle:ip:{address}"


def console_session(token: str) -> str:
    """A console session (hash with an expiry)."""
    return f"{PREFIX}session:{token}"


def console_sessions(username: str) -> str:
    """The session tokens of an agent (set)."""
    return f"{PREFIX}sessions:{username}"


# -- offers, consent, identity, calling systems --------------------------------------------------


def offer(offer_id: str) -> str:
    """An offer (hash)."""
    return f"{PREFIX}offer:{offer_id}"


def offer_history(offer_id: str) -> str:
    """An offer's status changes (stream)."""
    return f"{PREFIX}offer:{offer_id}:history"


def citizen_offers(citizen_id: str) -> str:
    """The offer ids of a citizen (set)."""
    return f"{PREFIX}citizen:{citizen_id}:offers"


def consent(citizen_id: str) -> str:
    """A citizen's consent now, per purpose (hash)."""
    return f"{PREFIX}consent:{citizen_id}"


def consent_history(citizen_id: str) -> str:
    """Every consent change of a citizen (stream, never trimmed: the proof of consent)."""
    return f"{PREFIX}consent:{citizen_id}:history"


def link(conversation_id: str) -> str:
    """The citizen a conversation is linked to (hash: citizen_id, linked_at, linked_via)."""
    return f"{PREFIX}link:{conversation_id}"


def citizen_links(citizen_id: str) -> str:
    """The conversations linked to a citizen (set)."""
    return f"{PREFIX}links:{citizen_id}"


def link_code(code: str) -> str:
    """A one-time link code → citizen id (string with an expiry)."""
    return f"{PREFIX}linkcode:{code}"


def web_session(session_id: str) -> str:
    """A web chat session's resume secret (its SHA-256) and creation time (hash with an expiry)."""
    return f"{PREFIX}wcsession:{session_id}"


def callback(delivery_id: str) -> str:
    """A callback to a calling system, until delivered or given up (hash)."""
    return f"{PREFIX}callback:{delivery_id}"


# -- scheduler and channels ----------------------------------------------------------------------

JOBS_DUE = f"{PREFIX}jobs:due"  # sorted set: "<kind>|<id>" → due time
JOBS_LEASED = f"{PREFIX}jobs:leased"  # sorted set: "<kind>|<id>" → lease end


def telegram_button(key: str) -> str:
    """The payload behind a Telegram inline button's short callback data."""
    return f"{PREFIX}tgbutton:{key}"


def address(conversation_id: str) -> str:
    """The address a conversation's messages go to, when it is personal data (a phone number)."""
    return f"{PREFIX}address:{conversation_id}"


def whatsapp_window(conversation_id: str) -> str:
    """Set while the citizen's 24-hour WhatsApp window is open (expires when it closes)."""
    return f"{PREFIX}wa:window:{conversation_id}"


def whatsapp_sent(message_id: str) -> str:
    """What one of our WhatsApp messages carried (hash: conversation, offer), for its statuses."""
    return f"{PREFIX}wa:sent:{message_id}"


def whatsapp_nudged(conversation_id: str) -> str:
    """Set when the "a reply is waiting" template went out, until the window opens again."""
    return f"{PREFIX}wa:nudged:{conversation_id}"


def whatsapp_button(key: str) -> str:
    """The payload behind a WhatsApp option whose payload is too long to be its id."""
    return f"{PREFIX}wa:button:{key}"


def whatsapp_retry(job_id: str) -> str:
    """A WhatsApp message kept to be sent again later (Meta rate-limited or unreachable)."""
    return f"{PREFIX}wa:retry:{job_id}"


SOCKETIO_CHANNEL = f"{PREFIX}socketio"
AUDIT = f"{PREFIX}audit"  # stream of accesses to personal data, trimmed by time (bot/privacy/audit.py)


def citizen_audit(citizen_id: str) -> str:
    """The accesses to one citizen's data (a stream, for their art. 15 export)."""
    return f"{PREFIX}audit:citizen:{citizen_id}"


AOF_REWRITTEN = f"{PREFIX}aof:rewritten"  # set for a day after a gateway asked for the daily rewrite
PROCESS_RESTARTS = f"{PREFIX}process:restarts"  # hash: process kind → restarts by `python -m bot run`
