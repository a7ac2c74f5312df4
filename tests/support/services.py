"""Real PostgreSQL and Redis servers on loopback for server-mode tests (owner: services helper)."""
