"""Async dispatcher: scheduler jobs, planner, outbox worker, channels, HTTP endpoints."""
