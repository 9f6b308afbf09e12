"""Real local services for tests and the demo: an OCI registry, a Verdaccio npm server, content helpers.

Nothing here is part of the installed package. Every service listens on 127.0.0.1 on a free port,
keeps its data in a folder the caller owns, and is stopped by the caller (fixtures do it at the end
of the session; scripts/demo.sh at exit).
"""
