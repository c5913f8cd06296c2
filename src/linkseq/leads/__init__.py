"""linkseq.leads."""
