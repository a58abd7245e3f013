"""knowledge_graph: the property graph, its stores, retrieval and builders (issue 3)."""

__all__: list[str] = []
