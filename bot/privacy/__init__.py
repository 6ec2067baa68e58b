"""Privacy: who a conversation belongs to (identity tokens, links, link codes) and consent.

Personal details go only to linked conversations, and proactive messages only with consent.
"""

from bot.privacy.consent import ConsentError, Consents
from bot.privacy.identity import IdentityError, Links, TokenVerifier

__all__ = ["ConsentError", "Consents", "IdentityError", "Links", "TokenVerifier"]
