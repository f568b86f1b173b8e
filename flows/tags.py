"""Names of the flow-run tags that the API and the flow both read."""

FARM_TAG = "phonefarm"
AUTO_RETRIES_TAG = "auto-retries"
