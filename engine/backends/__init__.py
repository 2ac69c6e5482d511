"""The executable forms of a policy: generated Python (native) and durable-rules rulesets."""
