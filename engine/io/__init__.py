"""The file edge: atomic output files and streamed fact records."""
