"""CDK Aspects and the cdk-nag pack that apply the tablesafe rules inside a CDK app."""
