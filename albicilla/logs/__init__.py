"""The log tree: the store that appends records, and the reader of roots, days and sessions."""
