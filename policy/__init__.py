"""The pure core: communication policy, segment DSL, RFM, windows, caps, assignment.

Nothing here performs I/O, awaits, or reads the clock: time is always a parameter.
"""
