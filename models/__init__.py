"""Model families (style, colorize, timbre): architecture, training, export,
evaluation, and the small trained artifacts the engine ships."""
