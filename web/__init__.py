"""The team dashboard served by `ritm run` under /app/ (aiohttp, server-rendered Jinja2 pages)."""
