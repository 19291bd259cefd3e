"""The layer table: every layer kind, with everything it owns."""
