"""heritage-hubs: a linked-open-data knowledge graph of heritage hubs."""

__version__ = "0.1.0"
