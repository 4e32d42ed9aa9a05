"""Every bound chat hears of each closing before it, exactly once: planner → ledger (claim) → sender → dispatch, run by the clock."""
