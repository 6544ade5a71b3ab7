"""Composition root: the one place that assembles the bot (routers, middlewares, services)
and its running modes (polling/webhook, console, command line, KB reload)."""
