"""tablesafe: keep AWS CDK DynamoDB tables from losing data."""

__version__ = "0.2.0"
"""The one place of the version: pyproject.toml reads it, and the npm package's tests compare theirs."""
