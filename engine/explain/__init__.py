"""Rendering: decisions as text, Markdown and JSON; diagnostics for people and CI."""
