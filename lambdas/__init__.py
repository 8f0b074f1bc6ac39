"""AWS Lambda functions of C4 (thin handlers over the ``c4`` library)."""
