"""taskgov: analytics and quota optimization for Kueue-governed GPU clusters."""

__version__ = "0.1.0"
