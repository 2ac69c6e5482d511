"""Rendering: decisions as text, Markdown and JSON; diagnostics for people and CI."""

# The distribution verdict is installed as (`[project] name` in pyproject.toml), whose
# metadata gives the version and `[project.urls]`. Not `verdict`: that name on PyPI is an
# unrelated project's, whose metadata an installation of it would give us instead.
DISTRIBUTION = "verdict-policy"
