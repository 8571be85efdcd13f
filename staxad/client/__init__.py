"""`staxa`: a command-line client of the staxad API (HTTP only, no private shortcuts)."""
