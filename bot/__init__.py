"""The aiogram 3 chat-ops bot (team side) and subscriber side."""
