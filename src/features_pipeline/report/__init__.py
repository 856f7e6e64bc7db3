"""The offline evaluation report: static SVG figures embedded in HTML and Markdown."""
