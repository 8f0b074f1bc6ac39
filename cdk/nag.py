"""cdk-nag acknowledgements: each names the finding it covers and why it is accepted.

Everything not acknowledged here must pass the AwsSolutions checks (a finding fails the synth).
IAM5 (wildcard) acknowledgements are granular: one per prefix pattern, derived from the same
access tables that make the grants (``STEP_ACCESS``, ``SCORING_READ``/``SCORING_WRITE``), so a
new wildcard that nobody reviewed still fails the synth.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from cdk.components.glue_jobs import CODE_PREFIX, PIPELINE_MANIFESTS, STEP_ACCESS, TEMP_PREFIX
from cdk.components.scoring import SCORING_READ, SCORING_WRITE
from cdk.stacks.c4_stack import C4Stack

_PACK = "AwsSolutions::AwsSolutions"

#: Action groups that CDK's grant_read / grant_read_write / grant_put / KMS grants emit.
GRANT_ACTION_WILDCARDS = (
    "s3:GetObject*",
    "s3:GetBucket*",
    "s3:List*",
    "s3:DeleteObject*",
    "s3:Abort*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
_GRANT_REASON = (
    "Action groups emitted by CDK grant methods (S3 object read/write/abort, KMS data-key "
    "operations); each statement is limited to the stack's own buckets under the prefixes "
    "acknowledged separately, and to the stack's own KMS keys."
)
_LOGS_BASIC_REASON = (
    "CDK-managed singleton function (custom resource); AWSLambdaBasicExecutionRole only allows "
    "writing its own CloudWatch logs."
)


def _ack(construct: IConstruct, rules: Iterable[tuple[str, str]]) -> None:
    Validations.of(construct).acknowledge(
        *[Acknowledgment(id=f"{_PACK}-{rule}", reason=why) for rule, why in rules]
    )


def _arn_ref(bucket: s3.IBucket) -> str:
    """The ``<LogicalId.Arn>`` form cdk-nag uses for a bucket ARN in finding ids."""
    resolved = Stack.of(bucket).resolve(bucket.bucket_arn)
    logical_id = resolved["Fn::GetAtt"][0]
    return f"<{logical_id}.Arn>"


def _prefix_acks(bucket: s3.IBucket, prefixes: Iterable[str], why: str) -> list[tuple[str, str]]:
    arn = _arn_ref(bucket)
    return [(f"IAM5[Resource::{arn}/{p}*]", f"{why} (prefix {p})") for p in sorted(set(prefixes))]


def _action_acks(actions: Iterable[str] = GRANT_ACTION_WILDCARDS) -> list[tuple[str, str]]:
    return [(f"IAM5[Action::{a}]", _GRANT_REASON) for a in actions]


def acknowledge_findings(stack: C4Stack) -> None:
    """Attach the reviewed acknowledgements to the constructs of a C4 stack."""
    _acknowledge_glue_roles(stack)
    _acknowledge_scoring(stack)
    _acknowledge_pipeline(stack)
    _acknowledge_cdk_singletons(stack)
    _ack(
        stack.keys.pseudonym_secret,
        [
            (
                "SMG4",
                "The HMAC pseudonymisation key must not rotate: a new key gives every guest a new "
                "pseudonym and breaks their visit history. Access is limited to the ELT job and the scoring "
                "function, and the secret is encrypted with the stack's customer-managed key.",
            )
        ],
    )


def _acknowledge_glue_roles(stack: C4Stack) -> None:
    lake, artifacts = stack.lake.lake_bucket, stack.lake.artifacts_bucket
    region_logs = "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/*"
    for step, role in stack.jobs.roles.items():
        access = STEP_ACCESS[step]
        rules = _prefix_acks(
            lake,
            (*access.read, *access.write, PIPELINE_MANIFESTS),
            f"Glue job {step} reads/writes only the lake zones of its step",
        )
        rules += _prefix_acks(
            artifacts,
            (CODE_PREFIX, TEMP_PREFIX),
            "Glue job reads its scripts and wheel and uses its temp folder",
        )
        rules.append(
            (
                f"IAM5[Resource::{region_logs}]",
                "Glue names its continuous-logging groups /aws-glue/jobs/<security configuration>-role/"
                "<role>/...; the names are created by Glue at run time, below /aws-glue/ only.",
            )
        )
        if access.publishes_metrics:
            rules.append(
                (
                    "IAM5[Resource::*]",
                    "cloudwatch:PutMetricData has no resource-level permissions; the statement is "
                    "limited by a cloudwatch:namespace condition to C4/Monitoring.",
                )
            )
        _ack(role, rules + _action_acks())


def _acknowledge_scoring(stack: C4Stack) -> None:
    rules = _prefix_acks(
        stack.lake.lake_bucket,
        (*SCORING_READ, *SCORING_WRITE),
        "The scoring function reads uploads, curated data and models, writes curated "
        "sessions, quarantine, manifests and predictions, and deletes stale predictions only",
    )
    rules.append(
        (
            "IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) have no resource-level permissions.",
        )
    )
    _ack(stack.scoring.function.role, rules + _action_acks())  # type: ignore[arg-type]


def _acknowledge_pipeline(stack: C4Stack) -> None:
    arn = _arn_ref(stack.lake.lake_bucket)
    _ack(
        stack.pipeline.state_machine.role,
        [
            (
                f"IAM5[Resource::{arn}/{PIPELINE_MANIFESTS}*/train.json]",
                "The gate reads only the train step's result of a run: "
                "manifests/pipeline/<run id>/train.json.",
            ),
            (
                f"IAM5[Resource::{arn}/models/*/gate.json]",
                "The gate reads only the gate decision of a model version: models/<version>/gate.json.",
            ),
            (
                "IAM5[Resource::*]",
                "Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups, PutResourcePolicy) and "
                "X-Ray tracing actions have no resource-level permissions (AWS documented policy).",
            ),
        ],
    )


def _acknowledge_cdk_singletons(stack: C4Stack) -> None:
    artifacts = _arn_ref(stack.lake.artifacts_bucket)
    for child in stack.node.children:
        cid = child.node.id
        if cid.startswith("Custom::CDKBucketDeployment"):
            _ack(
                child,
                [
                    (
                        "L1",
                        "CDK's BucketDeployment provider: its runtime is pinned and upgraded by aws-cdk-lib, "
                        "and it only runs at deploy time to copy the Glue bundle.",
                    ),
                    (
                        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                        _LOGS_BASIC_REASON,
                    ),
                    (
                        f"IAM5[Resource::{artifacts}/*]",
                        "BucketDeployment syncs (and prunes) the glue/code/ prefix of the artifacts "
                        "bucket; CDK grants it the bucket's objects.",
                    ),
                    (
                        "IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
                        "BucketDeployment reads the bundle from the CDK bootstrap assets bucket.",
                    ),
                    *[
                        (
                            f"IAM5[Action::{a}]",
                            "S3 action groups of CDK's BucketDeployment grants (copy and prune).",
                        )
                        for a in (
                            "s3:GetObject*",
                            "s3:GetBucket*",
                            "s3:List*",
                            "s3:DeleteObject*",
                            "s3:Abort*",
                        )
                    ],
                ],
            )
        elif cid.startswith("BucketNotificationsHandler"):
            _ack(
                child,
                [
                    (
                        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                        _LOGS_BASIC_REASON,
                    ),
                ],
            )
