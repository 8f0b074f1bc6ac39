#!/bin/bash
# regenerate requirements files from the venv
cd "$(dirname "$0")/.." && . .venv/bin/activate
RT="duckdb pyarrow pandas numpy scipy scikit-learn holidays skops optuna typer rich boto3 botocore s3transfer awswrangler aws_lambda_powertools aws-xray-sdk matplotlib jinja2 sqlglot pyyaml tqdm"
pip freeze --all --exclude-editable | grep -v "^pip==" | grep -v '^-e' | sort -f > /tmp/freeze.txt
{ echo "# Runtime dependencies of the c4 library, CLI, Glue jobs and Lambda (pinned)."; echo "# Regenerate with scripts/lock-requirements.sh; the full lock is requirements-dev.txt."; 
  for p in $RT; do grep -i "^${p}==" /tmp/freeze.txt; done; } > requirements.txt
{ echo "# Development, test and deployment tooling: the full lock of the project venv."; echo "-r requirements.txt";
  pat=$(for p in $RT; do printf '^%s==|' "$p"; done); grep -viE "${pat%|}" /tmp/freeze.txt; } > requirements-dev.txt
