"""The `linkseq` command line: a thin shell over the library."""
