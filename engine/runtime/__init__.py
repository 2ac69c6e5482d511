"""What every backend shares: the semantics of the language, fact validation, the Decision."""
