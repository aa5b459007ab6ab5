"""Shared kernel: exact money, the domain error hierarchy, the append-only audit log."""
