"""The pure model: records, validation, scopes, errors. No I/O, no frameworks."""
