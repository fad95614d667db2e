"""Stage 3, rendering: page contexts, charts and downloads from the evidence, through the templates into files."""
