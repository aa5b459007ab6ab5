"""The cases side's reads: lists, totals, the settlement figures and statement."""
