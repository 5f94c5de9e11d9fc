"""Image and depth metrics with their protocols written down (see each function's docstring)."""
