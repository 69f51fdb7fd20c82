"""The bottom layer: what every app shares.

It imports nothing from service_center, parts or workflows.
"""
