"""The public notice board of a grid: JSON and a plain HTML page."""
