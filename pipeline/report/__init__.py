"""The report site's pages: jinja2 templates rendered from the pipeline's JSON outputs (see `render.py`)."""
