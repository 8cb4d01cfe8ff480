"""Intake's pure domain: what a visit request must satisfy. Standard library and contracts only."""
