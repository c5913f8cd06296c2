"""linkseq.planning."""
