"""Entity extractor for names the city's editors maintain in ``knowledge/``.

It finds, by word stems (so inflected Finnish forms match too):

- ``service_point``: the id of each service point the message may mean ("Oodissa" → ``oodi``;
  "Itäkeskus simhall" → ``itakeskus_swimming_hall``); several when the message is ambiguous;
- ``service_kind``: a kind of place named ("uimahalli" → ``swimming_hall``);
- ``day``: a weekday (``mon``..``sun``) or ``today``/``tomorrow``;
- ``language``: a conversation language named ("englanniksi" → ``en``).

Nothing is trained: the vocabulary is read from the knowledge files when the model loads, so an
editor's new service point is recognised after a restart, without retraining.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.knowledge.entities import KnowledgeEntities


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class KnowledgeEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds service point, kind, day and language entities found by stem matching."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = config
        self._entities = KnowledgeEntities.load()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnowledgeEntityExtractor:
        """Create the extractor, reading the knowledge files."""
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        """Append the entities found in each message's text."""
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = self.add_extractor_name(self._entities.extract(text))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
