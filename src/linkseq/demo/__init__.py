"""The embedded demo: the real engine against the sandbox, on a virtual clock."""
