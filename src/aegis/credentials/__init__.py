"""Encrypted storage of broker keys and cached tokens (AES-256-GCM)."""

from aegis.credentials.store import BrokerCredentials, CredentialStore

__all__ = ["BrokerCredentials", "CredentialStore"]
