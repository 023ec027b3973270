"""Jinja2 message templates shipped with Ritm (email html+txt, telegram, shared blocks)."""
