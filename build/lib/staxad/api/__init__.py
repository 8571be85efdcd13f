"""The HTTP layer: parse, authorize, call the core, render. Nothing else."""
