"""autoscale-lab's image classifier as a Ray Serve application (see app.py)."""
