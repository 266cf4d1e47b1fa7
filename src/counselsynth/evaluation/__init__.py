"""`counselsynth evaluate`: simulated clients probe a counselor model, and a scorecard says how it did."""
