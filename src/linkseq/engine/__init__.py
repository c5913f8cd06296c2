"""linkseq.engine."""
