"""The dashboard: pages served at / on the API listener, a client of the public API."""
