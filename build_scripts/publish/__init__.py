"""Stage 4, publishing: run MkDocs and Pagefind on the rendered pages, check the links, and swap the site in whole."""
