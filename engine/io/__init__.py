"""The file edge: policy files and folders, atomic output files, streamed fact records."""
