"""The cases side: personal-injury case management (cases, costs advanced on a case,
settlements, liens, and the staging of the client's trust money). Modelled on CASEpeer.

It knows nothing of the books; the bridge connects the two.
"""
