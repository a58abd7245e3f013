"""knowledge_graph: a property graph with memory and SQL stores, hybrid retrieval, builders.

from knowledge_graph import MemoryGraphStore, Node, Edge
store = MemoryGraphStore()
store.add([Node(id="c1", labels=["Concept"], properties={"name": "fractions"})])
"""

from knowledge_graph.io import (
    export_graphml,
    export_jsonl,
    import_graphml,
    import_jsonl,
    read_jsonl,
)
from knowledge_graph.memory import MemoryGraphStore
from knowledge_graph.model import Edge, GraphSchema, Node, SchemaViolation
from knowledge_graph.sql import SqlGraphStore
from knowledge_graph.store import Direction, GraphIntegrityError, GraphStats, GraphStore

__all__ = [
    "Direction",
    "Edge",
    "GraphIntegrityError",
    "GraphSchema",
    "GraphStats",
    "GraphStore",
    "MemoryGraphStore",
    "Node",
    "SchemaViolation",
    "SqlGraphStore",
    "export_graphml",
    "export_jsonl",
    "import_graphml",
    "import_jsonl",
    "read_jsonl",
]
