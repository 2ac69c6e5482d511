"""The SQL form of a policy: the IR compiled into one query (sqlglot's expression tree),
executed by DuckDB (embedded), Spark, PostgreSQL, and printed for warehouses."""
