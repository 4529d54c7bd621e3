"""Live audit of deployed DynamoDB tables (see the audit issue); nothing here yet."""
