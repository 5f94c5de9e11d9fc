"""Neural network building blocks: modulation, generators, discriminators, losses."""
