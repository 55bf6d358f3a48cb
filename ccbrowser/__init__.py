"""ccbrowser: a local, searchable mirror of stored OpenAI chat completions."""

__version__ = "0.1.0"
