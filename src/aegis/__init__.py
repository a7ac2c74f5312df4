"""AEGIS: a self-hosted realtime platform for the Korean stock market."""

__version__ = "0.1.0"
