"""Model runtime: loading models, choosing a backend, running them."""
