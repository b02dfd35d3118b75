"""The portal: the hub's pages for the people who are not pipeline operators.

Probation officers read their own organisation's client profiles, municipalities collect
their sealed packages and statements, privacy officers audit lineage and the disclosure
log, data stewards decide on quarantined batches. Every page needs a session
(`sessions.py`) and a right (`rights.py`, the one place access is decided); every read
of personal data is on the disclosure log with the person who caused it.
"""
