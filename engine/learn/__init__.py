"""Learned mappings (the learn node): examples recorded live, trained in seconds
into ridge regression, a small network or nearest neighbours, run in numpy."""
