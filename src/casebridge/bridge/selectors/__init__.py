"""The bridge's reads for its screens, its API and the cases side's pages, one module per area.
Never a question to the books (ADR 0008): what is shown from them is what the worker last
read, with its age. Selectors never write (but may ask the worker to read again).
"""
