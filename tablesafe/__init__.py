"""tablesafe: keep AWS CDK DynamoDB tables from losing data."""

__version__ = "0.1.0"
