"""`TableSafetyChecks`: the validator, for apps that add the checks as an Aspect.

    cdk.Aspects.of(app).add(TableSafetyChecks())   # older apps: works, costs one call per construct
    cdk.Validations.of(app).add_plugins(TableSafetyChecks())   # the same as TableSafetyValidator

Earlier versions judged each table as an Aspect and reported with Annotations; CDK then
called back into Python for every construct of the app (+287% synth time on 1,000 tables).
The rules now run once, after synthesis, as `TableSafetyValidator`. Added as an Aspect,
this class only registers itself as the validation plugin of the Stage it was added to, on
its first visit; CDK still calls it for every construct, so register the plugin instead.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from constructs import IConstruct

from ._resource import ref
from .validator import TableSafetyValidator


@jsii.implements(cdk.IAspect)
class TableSafetyChecks(TableSafetyValidator):
    """`TableSafetyValidator` that can also be added with `cdk.Aspects.of(scope).add(...)`.

    As an Aspect it registers itself with `cdk.Validations.of(stage).add_plugins(self)` for
    the Stage (or App) of the scope it was added to, so it judges every stack of that Stage
    and of the Stages inside it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._registered: set[str] = set()
        """The Stages this instance registered itself on (jsii refs)."""

    def visit(self, node: IConstruct) -> None:
        # CDK calls this for every construct below the scope: decide before any jsii call
        if self._registered and not isinstance(node, cdk.Stage):
            return
        stage = node if isinstance(node, cdk.Stage) else cdk.Stage.of(node)
        if stage is not None and ref(stage) not in self._registered:
            self._registered.add(ref(stage))
            cdk.Validations.of(stage).add_plugins(self)
