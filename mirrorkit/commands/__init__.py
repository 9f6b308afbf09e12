"""One module per user command; each turns click options into one call into the library."""
