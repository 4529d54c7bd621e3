"""Live audit of deployed DynamoDB tables: discovery, read-only collection, blueprints and runbooks."""
