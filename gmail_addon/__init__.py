"""The Gmail add-on (HTTP alternate runtime): verified endpoints, card builders, manifest, preview."""
