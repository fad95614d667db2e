"""Stage 2, derived facts and synthesis: checks across records, each cohort's axes, and the pooled answers."""
