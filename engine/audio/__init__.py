"""Audio: the process the sound devices run in, the rings and shared memory between it and the nodes, and speaker safety."""
