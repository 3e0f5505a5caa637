"""`make bench`: the benchmarks, each run as a script, and what they share."""
