"""linkseq.web."""
