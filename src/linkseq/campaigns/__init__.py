"""linkseq.campaigns."""
