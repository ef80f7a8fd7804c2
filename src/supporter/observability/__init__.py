"""Metrics and health endpoints: what operators and Kubernetes see of a worker."""
