"""tensorstage engine: the runtime that carries frames, audio and control values
through a patch of nodes, in real time, on one clock."""

__version__ = "0.1.0"
