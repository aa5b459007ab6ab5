"""The cases side's screens."""
