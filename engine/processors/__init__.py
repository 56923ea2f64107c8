"""Processors: nodes that answer each input packet with new values, same timestamp."""
