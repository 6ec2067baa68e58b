"""Offers: the city's proactive offers, stored with their history, and their life in conversations.

``Offers`` is the store (validation, atomic transitions); ``OfferDesk`` delivers and takes answers.
"""

from bot.offers.desk import OfferDesk
from bot.offers.store import Offer, OfferError, Offers, parse_offer
from bot.offers.texts import OfferTexts, load_offer_texts

__all__ = ["Offer", "OfferDesk", "OfferError", "OfferTexts", "Offers", "load_offer_texts", "parse_offer"]
