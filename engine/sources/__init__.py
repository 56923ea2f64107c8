"""Sources: nodes with no inputs that bring frames, sound and control into the graph."""
