"""`TableAuditMemberRoleStack`: the read-only role the audit assumes in every other account.

    python -m tablesafe.cdk_aspects.member_role > iam/tablesafe-member-role.template.json

prints the StackSet-ready template (committed in the repository): the auditor account is
the `AuditorAccountId` parameter, so one StackSet deploys the same template to every
account. The role trusts the auditor account only for roles under the `/tablesafe/` path
(`ScheduledTableAudit` puts its role there; so should a CI role that runs `tablesafe audit`).
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._audit_policy import policy_statements

DEFAULT_ROLE_NAME = "tablesafe-audit"
AUDITOR_ROLE_PATH = "/tablesafe/"
MEMBER_WITHOUT = ("sts", "organizations")
"""A member role only reads: discovery and AssumeRole happen in the auditor account."""


class TableAuditMemberRoleStack(cdk.Stack):
    """The member role `role_name` with the audit policy's read-only statements.

    auditor_account: the account whose `/tablesafe/` roles may assume it; None makes it the
    `AuditorAccountId` parameter (the StackSet template). IAM is global: deploy one stack
    instance per account, in one region.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        auditor_account: str | None = None,
        role_name: str = DEFAULT_ROLE_NAME,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        if auditor_account is None:
            auditor_account = cdk.CfnParameter(
                self,
                "AuditorAccountId",
                type="String",
                allowed_pattern=r"^\d{12}$",
                description="The auditing account: its roles under /tablesafe/ may assume this role",
            ).value_as_string
        principal_arn = f"arn:{cdk.Aws.PARTITION}:iam::{auditor_account}:role{AUDITOR_ROLE_PATH}*"
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.AccountPrincipal(auditor_account).with_conditions(
                {"ArnLike": {"aws:PrincipalArn": principal_arn}}
            ),
            description="tablesafe audit: read-only DynamoDB and CloudFormation",
            inline_policies={
                "ReadOnlyAudit": iam.PolicyDocument(statements=policy_statements(without=MEMBER_WITHOUT))
            },
        )


def member_role_template() -> dict[str, Any]:
    """The StackSet template: no bootstrap version rule, no CDK metadata, nothing but the role."""
    app = cdk.App()
    stack = TableAuditMemberRoleStack(
        app,
        "TableSafeMemberRole",
        synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
        analytics_reporting=False,
        description="tablesafe audit: the read-only member role (deploy with a StackSet)",
    )
    return app.synth().get_stack_by_name(stack.stack_name).template


if __name__ == "__main__":
    print(json.dumps(member_role_template(), indent=2))
