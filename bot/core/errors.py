"""The package's root exception and its subclasses.

Domain code raises these; they are mapped to HTTP statuses or user-facing replies only at the edge.
"""


class CitybotError(Exception):
    """Root of every error raised by the ``bot`` package."""


class CodedError(CitybotError):
    """A refusal with a short machine-readable ``code`` (for clients, HTTP answers and logs)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class KnowledgeError(CitybotError):
    """A knowledge file is missing, malformed or lacks a language."""


class ModelMissingError(CitybotError):
    """No trained Rasa model was found where one was expected."""


class UnknownLabelError(CitybotError):
    """A label is not one of those in ``nlu/labels.yml``."""


class ServiceStartError(CitybotError):
    """A process the service depends on did not start or become ready."""
