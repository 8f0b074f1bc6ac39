"""The scoring Lambda (container image; ``CMD lambdas.score.handler.handler``)."""
