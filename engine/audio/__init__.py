"""Audio: ring buffers between threads and device callbacks, and speaker safety."""
