"""Channels: adapters that only move bytes and map provider errors to our result kinds."""
