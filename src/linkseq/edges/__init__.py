"""linkseq.edges."""
