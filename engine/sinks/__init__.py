"""Sinks: nodes that take packets out of the graph (screen, files, speakers, OSC)."""
