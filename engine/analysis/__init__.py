"""Analyses over the fact space: static findings, semantic diff, counterfactuals."""
