"""Pure: a Thai question and its context (now, province, agency) → an `Answer` (understanding → phases → replies)."""
