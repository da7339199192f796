"""The check stages, one module per concern of the contract (auth, routing, body, params, schema, rules)."""
