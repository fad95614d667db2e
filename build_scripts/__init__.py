"""Turn curated YAML evidence records into a static MkDocs Material site."""
