"""Stage 1, load and model: read the YAML records (and the repository facts they need) into validated records."""
