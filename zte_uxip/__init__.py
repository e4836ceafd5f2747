"""zte_uxip: user-experience diagnostics agent for ZTE-style routers (see README.md)."""

__version__ = "0.1.0"
