"""Blocking asset checks, one module per check, each named after it."""
