"""personas: who speaks. Persona specs, Think/Plan/Execute phases and minds (issue 4)."""

__all__: list[str] = []
