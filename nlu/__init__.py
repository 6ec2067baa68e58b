"""NLU training data (``nlu/fi``, ``nlu/sv``, ``nlu/en``) and our custom Rasa NLU components."""
