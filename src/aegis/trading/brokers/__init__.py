"""Brokers behind one interface: the paper broker (fills against the tape) and KIS."""
