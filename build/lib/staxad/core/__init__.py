"""The use cases: plain Python over the store. No HTTP, no host adapters."""
