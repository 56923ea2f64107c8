"""A representative conv net for benchmarks, until the real model families exist."""
