"""Population runs over files: a policy's SQL form (engine.backends.sql) executed by an
embedded DuckDB (or, in `spark`, by Spark) over whole inputs at once.

- `inputs`: the inputs of a run (files, globs, folders of Parquet) and their staging into
  the typed facts relation of the decision query, with `__row` and `__type_error`;
- `jsontext`: the SQL that writes each decision as the exact JSON text the native path
  writes (`engine.explain.render.to_json`), so outputs are byte-identical;
- `outputs`: writing decisions (JSONL, JSON, CSV, Parquet) atomically with DuckDB's COPY;
- `run`: `verdict eval --backend duckdb`: staging, the query, rejections rechecked by the
  native path (the exact native message and exit code), the summary;
- `diff`: the from → to matrix of two policy versions over a dataset, in SQL.

See docs/batch.md.
"""
