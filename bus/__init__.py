"""The data bus: how closed bars and markers travel from the collector to the traders (files or Redis)."""
