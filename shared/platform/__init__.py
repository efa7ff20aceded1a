"""Platform code: settings, logs, tokens and the composition root that builds every client lazily."""
