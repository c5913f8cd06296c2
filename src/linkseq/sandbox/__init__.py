"""linkseq.sandbox."""
