"""Adapters, one per host component. Each takes a whole desired state and may be called
again with the same state harmlessly. They import only staxad.model."""
