"""SQLite persistence: the desired state and its history."""
