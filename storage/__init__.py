"""SQLite storage: migrations, repositories, bulk import, DSL → SQL compilation."""
