"""The project's tools, apart from the pipeline (build_scripts/): the benchmark, synthetic evidence for it and
the tests, and the local server and browser the tests and the benchmark share."""
