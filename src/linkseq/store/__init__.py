"""linkseq.store."""
